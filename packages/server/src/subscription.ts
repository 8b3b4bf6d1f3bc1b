import type { StreamPosition } from '@switchboard/protocol'
import type { HistoryPage } from './adapters/adapter.js'
import { planCatchUp, type HeldMessage, type SubscribeResult } from './catch-up.js'
import type { Session } from './session.js'

/**
 * One session's subscription to one channel on this node. While its subscribe is served, live
 * messages are held; `open` sends the catch-up (history, then the held messages past it), and
 * from then on live messages go straight out, except those the catch-up already sent.
 */
export class Subscription {
  readonly session: Session
  /** Live messages at or below this offset of `#epoch` went out with the catch-up. */
  #after = 0
  #epoch = ''
  #held: HeldMessage[] | null = []
  #closed = false

  constructor(session: Session) {
    this.session = session
  }

  /** The session left the channel (or ended): its subscribe, if still served, must not open it. */
  get closed(): boolean {
    return this.#closed
  }

  /** A live message. On the data path of every message: no allocation once open. */
  deliver(offset: number, epoch: string, body: string): void {
    const held = this.#held
    if (held !== null) held.push({ offset, epoch, body })
    else if (offset > this.#after || epoch !== this.#epoch) this.session.sendMessage(body)
  }

  /** Holds live messages again, for a subscribe of a session that is already subscribed. */
  hold(): void {
    this.#held ??= []
  }

  /** Sends the catch-up for `since` from `page` and goes live. Returns the subscribe's answer. */
  open(since: StreamPosition | null, page: HistoryPage): SubscribeResult {
    const { bodies, result } = planCatchUp(since, page, this.#held ?? [])
    for (let i = 0; i < bodies.length; i++) this.session.sendMessage(bodies[i]!)
    this.#held = null
    this.#after = result.offset
    this.#epoch = result.epoch
    return result
  }

  close(): void {
    this.#closed = true
    this.#held = null
  }
}
