import { encodeRequest, type ReplyFrame, type RequestType, type Sequencer, SwitchboardError } from '@switchboard/protocol'
import { PendingRequests } from './pending.js'
import { type Pending, type WaitingRequest, WaitingRequests } from './waiting.js'

/**
 * Every request of a session until it settles: those in the outbox by seq (waiting for their
 * reply), those waiting for room in it (in order, no seq yet), and one timer for all their
 * timeouts (not one per request): it fires at the earliest deadline, rejects what is due and
 * re-arms for the next.
 */
export class Requests {
  readonly #sent = new PendingRequests<Pending>()
  readonly #waiting: WaitingRequests
  #timer: ReturnType<typeof setTimeout> | undefined
  #nextDeadline = Infinity

  constructor(maxQueued: number, maxQueuedChars: number) {
    this.#waiting = new WaitingRequests(maxQueued, maxQueuedChars)
  }

  /** Requests not yet settled, sent or waiting. */
  get size(): number {
    return this.#sent.size + this.#waiting.size
  }

  /** Requests waiting for room in the outbox. */
  get queued(): number {
    return this.#waiting.size
  }

  /** A request sent now as `seq`: its reply's promise. */
  sent(seq: number, timeoutMs: number | undefined): Promise<unknown> {
    const deadline = this.#deadlineOf(timeoutMs)
    return new Promise<unknown>((resolve, reject) => {
      this.#sent.add(seq, { resolve, reject, deadline, timeoutMs: timeoutMs ?? 0 })
    })
  }

  /**
   * A request that waits for room (the outbox is full, or earlier ones wait): `encode` numbers it
   * once acks make room (a closure only on this path). Throws OUTBOX_FULL past the waiting bound.
   */
  wait(encode: (seq: number) => string, chars: number, timeoutMs: number | undefined): Promise<unknown> {
    const deadline = this.#deadlineOf(timeoutMs)
    let pending!: Pending
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = { resolve, reject, deadline, timeoutMs: timeoutMs ?? 0 }
    })
    this.#waiting.push({ encode, chars, pending })
    return promise
  }

  /**
   * `wait` for a PUBLISH or CALL whose parts are encoded: one object holds them and its promise's
   * resolve (no closure, see WaitingData.reject), since a producer that fires faster than the line
   * may queue many thousands.
   */
  waitData(type: RequestType, nameJson: string, dataJson: string, extraBytes: number | undefined, timeoutMs: number | undefined): Promise<unknown> {
    const request = new WaitingData(type, nameJson, flat(dataJson), extraBytes, this.#deadlineOf(timeoutMs), timeoutMs ?? 0)
    const promise = new Promise<unknown>((resolve) => {
      request.resolve = resolve
    })
    this.#waiting.push(request)
    return promise
  }

  /** Moves waiting requests into `seq`'s outbox while they fit, numbering each. True when one moved. */
  refill(seq: Sequencer): boolean {
    const out = seq.out
    let moved = false
    for (let w = this.#waiting.shiftIf(out); w !== undefined; w = this.#waiting.shiftIf(out)) {
      const frame = w.encode(seq.nextSeq)
      this.#sent.add(seq.append(frame, w.extraBytes === undefined ? undefined : frame.length + w.extraBytes), w.pending!)
      moved = true
    }
    return moved
  }

  /** Settles the request a REPLY answers (unless it timed out already). */
  settle(f: ReplyFrame): void {
    const pending = this.#sent.take(f[2])
    if (!pending) return
    if (f[3] === null) pending.resolve(f[4])
    else pending.reject(new SwitchboardError(f[3], f[4], f.length > 5 ? { data: f[5] } : undefined))
  }

  /** Takes the promise of the request sent as `seq` out (to carry it to another session). */
  take(seq: number): Pending | undefined {
    return this.#sent.take(seq)
  }

  /** Puts a carried request back, sent as `seq` on the new session. */
  resend(seq: number, pending: Pending): void {
    this.#sent.add(seq, pending)
    if (pending.deadline < this.#nextDeadline) this.#arm(pending.deadline)
  }

  /**
   * Rejects every sent request with `error`. `final`: the waiting ones too (a new session would
   * take them otherwise: they never left).
   */
  rejectSent(error: SwitchboardError, final: boolean): void {
    if (final) this.#waiting.rejectAll(error)
    for (const [, p] of this.#sent.entries()) p.reject(error)
    this.#sent.clear()
    if (this.#waiting.size === 0) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#nextDeadline = Infinity
    }
  }

  /** Resolves once no request waits for room in the outbox. */
  drained(): Promise<void> {
    return this.#waiting.drained()
  }

  /** When a request made now times out (Infinity: never); the timer is armed for it. */
  #deadlineOf(timeoutMs: number | undefined): number {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs
    if (deadline < this.#nextDeadline) this.#arm(deadline)
    return deadline
  }

  #arm(deadline: number): void {
    clearTimeout(this.#timer)
    this.#nextDeadline = deadline
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - Date.now()))
  }

  #expire(): void {
    this.#timer = undefined
    this.#nextDeadline = Infinity
    const now = Date.now()
    let next = Infinity
    for (const [seq, p] of this.#sent.entries()) {
      if (p.deadline <= now) {
        this.#sent.take(seq)
        p.reject(new SwitchboardError('TIMEOUT', `No reply within ${p.timeoutMs} ms`))
      } else if (p.deadline < next) next = p.deadline
    }
    next = Math.min(next, this.#waiting.expire(now))
    if (next < Infinity) this.#arm(next)
  }
}

/** A waiting PUBLISH or CALL: its encoded parts, and its own Pending until it settles or times out. */
class WaitingData implements WaitingRequest, Pending {
  pending: Pending | null = this
  resolve: (result: unknown) => void = noop
  readonly chars: number

  constructor(
    readonly type: RequestType,
    readonly nameJson: string,
    readonly dataJson: string,
    readonly extraBytes: number | undefined,
    readonly deadline: number,
    readonly timeoutMs: number,
  ) {
    // The frame's length at most: brackets, three commas, the type's two digits and a seq of up
    // to 16 (it has none yet), so the outbox it enters never holds more than its bound.
    this.chars = nameJson.length + dataJson.length + 23
  }

  encode(seq: number): string {
    return encodeRequest(this.type, seq, this.nameJson, this.dataJson)
  }

  /**
   * Settles its promise as rejected through its resolve: a waiting request keeps one of the two
   * functions its promise came with, not both (a burst of 50,000 requests kept 50,000 of each, and
   * every scavenge copied them: 1.03x on a cold 64 B flood, two A/Bs of 6 pairs). The rejection
   * reaches handlers two microtask turns later than a direct reject, and no unhandled rejection
   * is reported for the inner promise: its handler is added in the same turn of the queue.
   */
  reject(error: SwitchboardError): void {
    this.resolve(Promise.reject(error))
  }
}

function noop(): void {}

/**
 * `s`, flattened: JSON.stringify answers a rope of parts (two 48-byte strings and a joining node
 * for 60 characters) that a waiting request would carry through every scavenge. Converting it to
 * a number (NaN for JSON that is no number) makes V8 flatten it in place.
 */
function flat(s: string): string {
  Number(s)
  return s
}
