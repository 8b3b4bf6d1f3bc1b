import { SwitchboardError } from '@switchboard/protocol'

/** A request's promise and its deadline, waiting for its reply or for room in the outbox. */
export interface Pending {
  resolve(result: unknown): void
  reject(error: SwitchboardError): void
  /** When the request times out (Date.now() ms), or Infinity; `timeoutMs` for the message. */
  deadline: number
  timeoutMs: number
}

/** A request that found the outbox full: encoded once it gets its seq. */
export interface WaitingRequest {
  /** Builds the frame with its seq. */
  encode(seq: number): string
  /** Characters it will take in the outbox, at most (its seq is not known yet). */
  chars: number
  /** UTF-8 bytes its frame has beyond its length, when known (see ReplayBuffer.append). */
  extraBytes?: number
  /** Null once it timed out while waiting. */
  pending: Pending | null
}

/**
 * Requests made while the outbox was full, oldest first. They wait here, in order, without a seq,
 * and move to the outbox as the server's acks make room, so a producer that fires faster than the
 * line carries is slowed down instead of refused. Bounded by `maxFrames` and `maxChars`: past
 * that a request is refused with OUTBOX_FULL.
 */
export class WaitingRequests {
  readonly maxFrames: number
  readonly maxChars: number
  #items: WaitingRequest[] = []
  #head = 0
  #chars = 0
  #drained: (() => void)[] = []

  constructor(maxFrames: number, maxChars: number) {
    this.maxFrames = maxFrames
    this.maxChars = maxChars
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  /** Queues a request; throws OUTBOX_FULL past the bound. */
  push(request: WaitingRequest): void {
    if (this.size >= this.maxFrames || this.#chars + request.chars > this.maxChars)
      throw new SwitchboardError('OUTBOX_FULL', `${this.size} requests are waiting for room in the outbox`)
    this.#items.push(request)
    this.#chars += request.chars
  }

  /** The oldest request, if `outbox` has room for it now; it leaves the queue. Timed-out ones are skipped. */
  shiftIf(outbox: { admits(chars: number): boolean }): WaitingRequest | undefined {
    for (;;) {
      const next = this.#items[this.#head]
      if (next === undefined) return undefined
      if (next.pending !== null && !outbox.admits(next.chars)) return undefined
      this.#items[this.#head++] = undefined as never
      this.#chars -= next.chars
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head)
        this.#head = 0
      }
      if (this.size === 0) this.#settleDrained()
      if (next.pending !== null) return next
    }
  }

  /** Rejects the requests whose deadline passed with TIMEOUT; returns the earliest deadline left. */
  expire(now: number): number {
    let next = Infinity
    for (let i = this.#head; i < this.#items.length; i++) {
      const p = this.#items[i]!.pending
      if (p === null) continue
      if (p.deadline <= now) {
        this.#items[i]!.pending = null
        p.reject(new SwitchboardError('TIMEOUT', `No reply within ${p.timeoutMs} ms`))
      } else if (p.deadline < next) next = p.deadline
    }
    return next
  }

  /** Rejects every waiting request with `error` and empties the queue. */
  rejectAll(error: SwitchboardError): void {
    const items = this.#items.slice(this.#head)
    this.#items = []
    this.#head = 0
    this.#chars = 0
    for (const item of items) item.pending?.reject(error)
    this.#settleDrained()
  }

  /** Resolves once no request waits for room (at once when none does). */
  drained(): Promise<void> {
    if (this.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push(resolve))
  }

  #settleDrained(): void {
    const waiters = this.#drained
    if (waiters.length === 0) return
    this.#drained = []
    for (const resolve of waiters) resolve()
  }
}
