import type { StreamPosition } from '@switchboard/protocol'
import type { HistoryPage } from './adapters/adapter.js'
import { planCatchUp, type HeldMessage, type SubscribeResult } from './catch-up.js'
import type { Session } from './session.js'

/**
 * How long, at most, a session whose channel stream broke waits before it comes back: when a
 * broker loses its data, every subscriber of every channel breaks at once, and their returns are
 * spread over this time rather than landing in one millisecond.
 */
const BROKEN_STREAM_SPREAD_MS = 1_000

/**
 * One session's subscription to one channel on this node. While its subscribe is served, live
 * messages are held; `open` sends the catch-up (history, then the held messages past it), and
 * from then on live messages go straight out, except those the catch-up already sent.
 */
export class Subscription {
  readonly session: Session
  readonly channel: string
  /** The last offset of `#epoch` this session was sent: live messages at or below it are late copies. */
  #after = 0
  #epoch = ''
  #held: HeldMessage[] | null = []
  #closed = false

  constructor(session: Session, channel: string) {
    this.session = session
    this.channel = channel
  }

  /** The session left the channel (or ended): its subscribe, if still served, must not open it. */
  get closed(): boolean {
    return this.#closed
  }

  /** Where this subscription stands once open: the last offset sent and its epoch; null while held. */
  get position(): [offset: number, epoch: string] | null {
    return this.#held === null && !this.#closed ? [this.#after, this.#epoch] : null
  }

  /** A live message. On the data path of every message: no allocation once open. */
  deliver(offset: number, epoch: string, body: string): void {
    const held = this.#held
    if (held !== null) held.push({ offset, epoch, body })
    else if (offset === this.#after + 1 && epoch === this.#epoch) {
      this.#after = offset
      this.session.sendMessage(body)
    } else if (offset > this.#after || epoch !== this.#epoch) this.#broken()
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

  /**
   * The live stream skipped offsets or started a new epoch: the broker lost messages (or all of
   * its data) while it could not reach this node. A MESSAGE frame carries no epoch, so the client
   * would take the rest for duplicates or for the old epoch's; the session is replaced instead,
   * and its channels resubscribe with `since` and are told what is missing.
   */
  #broken(): void {
    this.session.end(
      'ADAPTER_UNAVAILABLE',
      Math.floor(Math.random() * BROKEN_STREAM_SPREAD_MS),
      `Channel ${JSON.stringify(this.channel)} lost messages while the broker was unavailable`,
    )
  }
}
