/**
 * What a dispatch returns when the session's later frames need not wait for it: a publish with
 * no hooks, whose broker keeps the order of one connection's commands. Only its ack waits.
 */
export class Overlapping {
  constructor(readonly settled: Promise<void>) {}
}

/** At most this many overlapping dispatches of one session run at once; the next waits for the oldest. */
export const MAX_OVERLAPPING = 256

interface Flight {
  seq: number
  settled: Promise<void>
  done: boolean
}

/**
 * The overlapping dispatches of one session in flight, oldest first. A session acks the client's
 * frames up to the highest seq below which every frame is processed: a frame that finished while
 * an older one is in flight counts once that one finished too (`done` holds it back, `finish`
 * releases it).
 */
export class Overlaps {
  #flights: Flight[] = []
  /** The highest seq that finished while an older flight was in flight. */
  #later = 0

  get size(): number {
    return this.#flights.length
  }

  /** The oldest dispatch in flight, to wait for when MAX_OVERLAPPING run. */
  get oldest(): Promise<void> | undefined {
    return this.#flights[0]?.settled
  }

  /** Dispatch `seq` runs, and settles with `settled`. Seqs come in order. */
  add(seq: number, settled: Promise<void>): void {
    this.#flights.push({ seq, settled, done: false })
  }

  /**
   * Frame `seq` finished (a dispatch that is no flight). Returns the seq the session may now say
   * it processed, or 0 when an older flight holds it back.
   */
  done(seq: number): number {
    const head = this.#flights[0]
    if (head === undefined || seq < head.seq) return seq
    if (seq > this.#later) this.#later = seq
    return 0
  }

  /** Flight `seq` settled. Returns the seq the session may now say it processed, or 0 for none new. */
  finish(seq: number): number {
    const flights = this.#flights
    const flight = flights.find((f) => f.seq === seq)
    if (flight === undefined) return 0
    flight.done = true
    let last = 0
    while (flights.length > 0 && flights[0]!.done) last = flights.shift()!.seq
    if (last === 0) return 0
    // Every frame below the oldest flight left is processed: frames go out in order, and one that
    // waits holds back every later frame until it settled.
    if (flights.length > 0) return flights[0]!.seq - 1
    const upTo = Math.max(last, this.#later)
    this.#later = 0
    return upTo
  }
}
