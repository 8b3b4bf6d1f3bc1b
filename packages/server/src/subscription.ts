import { encodeGapBody, FrameType, markSkipped, type StreamPosition } from '@switchboard/protocol'
import type { Adapter, HistoryPage } from './adapters/adapter.js'
import { planCatchUp, type CatchUp, type HeldMessage, type SubscribeResult } from './catch-up.js'
import type { Logger } from './log.js'
import type { Session } from './session.js'
import { MAX_HELD_BYTES, MAX_HELD_MESSAGES, type RoomWaiter, type SlowConsumerPolicy } from './slow-consumer.js'

/**
 * How long, at most, a session whose channel stream broke waits before it comes back: when a
 * broker loses its data, every subscriber of every channel breaks at once, and their returns are
 * spread over this time rather than landing in one millisecond.
 */
const BROKEN_STREAM_SPREAD_MS = 1_000

/**
 * - subscribing: the subscribe is being served; live messages are held for its catch-up.
 * - live: live messages go straight out.
 * - stalled (catch-up): a message found the session's buffer full; live messages are left to history.
 * - recovering (catch-up): acks made room; history since the stall is read, live messages held.
 * - coalescing (latest): a message found the buffer full; the newest one waits for room.
 */
export type SubscriptionState = 'subscribing' | 'live' | 'stalled' | 'recovering' | 'coalescing' | 'closed'

/** Every move a subscription may make; any other is a bug (`#to` throws). */
const NEXT = {
  subscribing: ['live', 'stalled', 'coalescing', 'closed'],
  live: ['subscribing', 'stalled', 'coalescing', 'closed'],
  stalled: ['subscribing', 'recovering', 'closed'],
  recovering: ['subscribing', 'live', 'stalled', 'coalescing', 'closed'],
  coalescing: ['subscribing', 'live', 'closed'],
  closed: [],
} as const satisfies Record<SubscriptionState, readonly SubscriptionState[]>

/** The states of a subscriber that fell behind. */
const BEHIND: ReadonlySet<SubscriptionState> = new Set(['stalled', 'recovering', 'coalescing'])

/** Where a subscription reads what its subscriber missed. */
export type HistoryReader = Pick<Adapter, 'history'>

/**
 * One session's subscription to one channel on this node. While its subscribe is served, live
 * messages are held; `open` sends the catch-up (history, then the held messages past it), and
 * from then on live messages go straight out, except those the catch-up already sent. A message
 * that finds the session's replay buffer full is left to the channel's slow-consumer policy.
 */
export class Subscription implements RoomWaiter {
  readonly session: Session
  readonly channel: string
  readonly policy: SlowConsumerPolicy
  #reader: HistoryReader
  #logger: Logger | undefined
  #state: SubscriptionState = 'subscribing'
  /** The last offset of `#epoch` this session was sent (or told it will not get): later ones follow it. */
  #after = 0
  #epoch = ''
  /** Live messages held while a catch-up is read (subscribing, recovering), and their bodies' length. */
  #held: HeldMessage[] = []
  #heldBytes = 0
  /** Catch-up: live messages came past the held bound; history is read again once the held ones are sent. */
  #overflow = false
  /** Latest: the newest message waiting for room (offset 0: none). Fields, not an object: one per message. */
  #latestOffset = 0
  #latestEpoch = ''
  #latestBody = ''
  /** Bumped by every history read and every change that makes one in flight stale. */
  #reads = 0

  constructor(session: Session, channel: string, policy: SlowConsumerPolicy, reader: HistoryReader, logger?: Logger) {
    this.session = session
    this.channel = channel
    this.policy = policy
    this.#reader = reader
    this.#logger = logger
  }

  get state(): SubscriptionState {
    return this.#state
  }

  /** The session left the channel (or ended): its subscribe, if still served, must not open it. */
  get closed(): boolean {
    return this.#state === 'closed'
  }

  /**
   * Where this subscription stands once open: the last offset the session was sent and its
   * epoch (behind the channel while stalled or coalescing); null while subscribing, or closed.
   */
  get position(): [offset: number, epoch: string] | null {
    return this.#state === 'subscribing' || this.#state === 'closed' ? null : [this.#after, this.#epoch]
  }

  /** A live message (`bytes`: its body's UTF-8 size, when measured). On the data path of every message: no allocation while live. */
  deliver(offset: number, epoch: string, body: string, bytes?: number): void {
    switch (this.#state) {
      case 'live':
        if (offset === this.#after + 1 && epoch === this.#epoch) {
          if (this.session.sendMessage(body, FrameType.MESSAGE, bytes)) this.#after = offset
          else this.#fellBehind(offset, epoch, body)
        } else if (offset > this.#after || epoch !== this.#epoch) this.#broken()
        return
      case 'subscribing':
      case 'recovering':
        return this.#hold(offset, epoch, body)
      case 'coalescing':
        if (epoch !== this.#epoch) return this.#broken()
        if (offset > this.#latestOffset) this.#keepLatest(offset, epoch, body)
    }
    // stalled: history has it; closed: no one wants it.
  }

  /** Holds live messages again, for a subscribe of a session that is already subscribed. */
  hold(): void {
    if (this.#state === 'subscribing' || this.#state === 'closed') return
    this.#reads++
    if (this.#state !== 'recovering') this.#held = []
    this.#to('subscribing')
  }

  /** Sends the catch-up for `since` from `page` and goes live. Returns the subscribe's answer. */
  open(since: StreamPosition | null, page: HistoryPage): SubscribeResult {
    if (this.#state === 'closed') throw new Error(`Subscription to ${this.channel} opened after it closed`)
    this.hold()
    const plan = planCatchUp(since, page, this.#held)
    this.#after = 0
    this.#epoch = plan.result.epoch
    this.#sendCatchUp(plan)
    // Stopped short by a full buffer: the rest follows the answer, after the offset it names.
    if (!this.closed) plan.result.offset = this.#after
    return plan.result
  }

  /** Acks made room in the session's buffer (see Session.waitForRoom). */
  onRoom(): void {
    if (this.#state === 'stalled') this.#recover()
    else if (this.#state === 'coalescing') this.#sendLatest()
  }

  close(): void {
    if (this.#state === 'closed') return
    this.#reads++
    this.#dropHeld()
    this.#latestBody = ''
    this.#to('closed')
  }

  /** A message (`offset` of `epoch`) found the session's buffer full: the channel's policy takes over. */
  #fellBehind(offset: number, epoch: string, body: string): void {
    if (this.policy === 'end') {
      // Bounded memory per session: a client this far behind starts a new session at once and
      // catches up through channel history (subscribe `since`).
      return this.session.end('SLOW_CONSUMER', 0)
    }
    if (this.policy === 'catch-up') return this.#stall()
    this.#dropHeld()
    if (offset > this.#latestOffset) this.#keepLatest(offset, epoch, body)
    this.#to('coalescing')
    this.session.waitForRoom(this)
  }

  /** Catch-up: stops queueing live messages until acks make room; history keeps them meanwhile. */
  #stall(): void {
    this.#dropHeld()
    this.#to('stalled')
    this.session.waitForRoom(this)
  }

  #hold(offset: number, epoch: string, body: string): void {
    if (this.#held.length < MAX_HELD_MESSAGES && this.#heldBytes + body.length <= MAX_HELD_BYTES) {
      this.#held.push({ offset, epoch, body })
      this.#heldBytes += body.length
    } else if (this.policy === 'end') this.session.end('SLOW_CONSUMER', 0)
    else if (this.policy === 'latest') this.#keepLatest(offset, epoch, body)
    else this.#overflow = true
  }

  #keepLatest(offset: number, epoch: string, body: string): void {
    this.#latestOffset = offset
    this.#latestEpoch = epoch
    this.#latestBody = body
  }

  /**
   * Sends a catch-up's messages in order, then the newest waiting one (latest), then goes live,
   * or reads history again for what came past the held bound (catch-up). Stops where the buffer
   * is full and lets the policy take over.
   */
  #sendCatchUp(plan: CatchUp): void {
    const { bodies, offsets } = plan
    this.#held = []
    this.#heldBytes = 0
    for (let i = 0; i < bodies.length; i++) {
      if (!this.session.sendMessage(bodies[i]!)) {
        if (i === 0) this.#after = offsets[0]! - 1
        return this.#fellBehind(offsets.at(-1)!, plan.result.epoch, bodies.at(-1)!)
      }
      this.#after = offsets[i]!
    }
    this.#after = Math.max(this.#after, plan.result.offset)
    if (this.#latestOffset > this.#after && this.#latestEpoch === this.#epoch) {
      this.#to('coalescing')
      return this.#sendLatest()
    }
    this.#latestOffset = 0
    this.#latestBody = ''
    if (!this.#overflow) return this.#to('live')
    this.#overflow = false
    this.#to('stalled')
    // After the subscribe's answer, which its caller queues once this returns.
    queueMicrotask(() => this.onRoom())
  }

  /** Sends the newest waiting message, marked with how many it replaced, and goes live. */
  #sendLatest(): void {
    const offset = this.#latestOffset
    if (offset > this.#after) {
      const skipped = offset - this.#after - 1
      if (!this.session.sendMessage(skipped > 0 ? markSkipped(this.#latestBody, skipped) : this.#latestBody)) return this.session.waitForRoom(this)
      this.#after = offset
    }
    this.#latestOffset = 0
    this.#latestBody = ''
    this.#to('live')
  }

  /** Reads what the session missed since it stalled, holding live messages meanwhile (as a subscribe does). */
  #recover(): void {
    this.#to('recovering')
    const read = ++this.#reads
    let page: HistoryPage | Promise<HistoryPage>
    try {
      page = this.#reader.history(this.channel, this.#after)
    } catch (e) {
      return this.#readFailed(read, e)
    }
    if (!(page instanceof Promise)) return this.#recovered(read, page)
    page.then(
      (p) => this.#recovered(read, p),
      (e: unknown) => this.#readFailed(read, e),
    )
  }

  #recovered(read: number, page: HistoryPage): void {
    if (read !== this.#reads) return
    if (page.epoch !== this.#epoch) return this.#broken()
    const plan = planCatchUp([this.#after, this.#epoch], page, this.#held)
    const missing = plan.result.missing
    if (missing !== undefined) {
      // Same epoch: `from` is an offset. Told before the messages after it, in the same order.
      if (!this.session.sendMessage(encodeGapBody(this.channel, missing.from!, missing.to), FrameType.GAP)) return this.#stall()
    }
    this.#sendCatchUp(plan)
  }

  #readFailed(read: number, error: unknown): void {
    if (read !== this.#reads) return
    this.#logger?.({ kind: 'channel', message: `catching up ${this.channel} failed`, sessionId: this.session.id, data: error })
    this.session.end('ADAPTER_UNAVAILABLE', this.#spreadMs(), `Channel ${JSON.stringify(this.channel)} could not be caught up from history`)
  }

  #dropHeld(): void {
    this.#held = []
    this.#heldBytes = 0
    this.#overflow = false
  }

  #to(next: SubscriptionState): void {
    const from = this.#state
    if (!(NEXT[from] as readonly SubscriptionState[]).includes(next))
      throw new Error(`Subscription to ${this.channel}: no move from ${from} to ${next}`)
    this.#state = next
    // Subscribes and leaves are the usual case: only a subscriber falling behind is worth a line.
    if (this.#logger && (BEHIND.has(from) || BEHIND.has(next)))
      this.#logger({ kind: 'channel', message: `${this.channel}: ${from} -> ${next}`, sessionId: this.session.id, data: { after: this.#after } })
  }

  #spreadMs(): number {
    return Math.floor(Math.random() * BROKEN_STREAM_SPREAD_MS)
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
      this.#spreadMs(),
      `Channel ${JSON.stringify(this.channel)} lost messages while the broker was unavailable`,
    )
  }
}
