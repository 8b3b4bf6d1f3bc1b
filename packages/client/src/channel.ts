import { encodeData, FrameType, SwitchboardError, type StreamPosition } from '@switchboard/protocol'
import { Emitter } from './emitter.js'
import type { ClientSession } from './session.js'

/** A message on a channel. */
export interface ChannelMessage<Msg> {
  channel: string
  data: Msg
  /** Position in the channel's stream; increases by one per message, or by `skipped` + 1. */
  offset: number
  /**
   * On a channel whose slow subscribers get the latest message only (`slowConsumer: 'latest'` on
   * the server): this message replaced the `skipped` messages before it (offsets `offset - skipped`
   * to `offset - 1`), which this client, falling behind, deliberately did not get. Absent otherwise.
   */
  skipped?: number
}

/** The server's answer to a subscribe. */
export interface Subscribed {
  offset: number
  epoch: string
  /** False when a resubscribe could not replay every missed message: resync from your own source. */
  recovered: boolean
  /**
   * With `recovered: false`, the offsets that could not be replayed, inclusive. `from` is null
   * when the channel's history was lost (a new epoch): older messages are unknown, and `to` is
   * the last missing offset of the new epoch (0 when it was replayed whole).
   */
  missing?: { from: number | null; to: number }
}

export interface ChannelEvents<Msg> {
  message: ChannelMessage<Msg>
  /**
   * The subscribe (or a resubscribe) was confirmed; also, with `recovered: false` and `missing`,
   * when this client fell behind the channel and history no longer held what it missed.
   */
  subscribed: Subscribed
  /** The subscription ended without `unsubscribe()` (the server refused a resubscribe, say). */
  error: SwitchboardError
}

export type ChannelState = 'unsubscribed' | 'subscribing' | 'subscribed'

/** What a channel needs from its client. */
export interface ChannelHost {
  readonly session: ClientSession
}

/**
 * One named channel. `subscribe()` once and messages arrive through `on('message')` until
 * `unsubscribe()`; the subscription survives transport switches and, when the session itself
 * is lost, is renewed with `since` so missed messages come from history where the server keeps it.
 */
export class Channel<Msg = unknown> extends Emitter<ChannelEvents<Msg>> {
  readonly name: string
  #host: ChannelHost
  #state: ChannelState = 'unsubscribed'
  /** Offset of the last message delivered (null before the first) and its epoch ('' until a subscribe answers): two fields, not a pair made per delivery. */
  #offset: number | null = null
  #epoch = ''
  /** The subscribe in flight; it outlives lost sessions, so a renew finds it and does not send another. */
  #subscribing: Promise<void> | null = null
  /** Bumped by unsubscribe(): an older attempt that completes later changes nothing. */
  #generation = 0
  #nameJson: string | undefined
  #recent = 0
  /**
   * Highest offset the subscribe in flight delivered, on every session it was sent on: after a
   * lost history, its replay restarts below #offset.
   */
  #replayed = 0

  constructor(name: string, host: ChannelHost) {
    super()
    this.name = name
    this.#host = host
  }

  get state(): ChannelState {
    return this.#state
  }

  /** Offset of the last message delivered, or null before the first. */
  get offset(): number | null {
    return this.#offset
  }

  /**
   * Subscribes; resolves once the server confirms. Rejects with UNKNOWN_CHANNEL, FORBIDDEN, CLOSED, ...
   * A lost session does not end it: it goes on to the next session and settles there.
   * `recent`: first replay up to that many of the latest messages the server keeps (its
   * `historySize`), so a newcomer sees the conversation so far.
   */
  subscribe(options: { recent?: number } = {}): Promise<void> {
    if (this.#state === 'subscribed') return Promise.resolve()
    if (this.#subscribing) return this.#subscribing
    this.#state = 'subscribing'
    this.#recent = Math.max(0, Math.floor(options.recent ?? 0))
    return this.#start()
  }

  /** Stops delivery at once and tells the server. */
  async unsubscribe(): Promise<void> {
    if (this.#state === 'unsubscribed') return
    this.#state = 'unsubscribed'
    this.#subscribing = null
    this.#generation++
    await this.#host.session.request((seq) => [FrameType.UNSUBSCRIBE, seq, this.name])
  }

  /**
   * Publishes to everyone subscribed (this client too, if subscribed). Resolves with the
   * message's offset once the server has accepted it; rejects with a coded SwitchboardError.
   */
  async publish(data: Msg, options: { timeoutMs?: number } = {}): Promise<{ offset: number }> {
    this.#nameJson ??= JSON.stringify(this.name)
    return (await this.#host.session.requestData(FrameType.PUBLISH, this.#nameJson, encodeData(data), options.timeoutMs)) as {
      offset: number
    }
  }

  /** Called by the client for every MESSAGE on this channel; `skipped`: the count it replaced (latest). */
  deliver(data: unknown, offset: number, skipped?: number): void {
    if (this.#state === 'unsubscribed') return
    const subscribing = this.#state === 'subscribing'
    if (offset <= (subscribing ? this.#replayed : (this.#offset ?? 0))) return
    if (subscribing) this.#replayed = offset
    this.#offset = offset
    const message: ChannelMessage<Msg> = { channel: this.name, data: data as Msg, offset }
    if (skipped !== undefined) message.skipped = skipped
    this.emit('message', message)
  }

  /**
   * Called by the client for a GAP on this channel: it fell behind, and history no longer held
   * offsets `from`..`to`. Told as a resubscribe tells it (`subscribed`, `missing`), then the
   * messages after `to` follow. A GAP of an earlier subscription (before an unsubscribe) is ignored.
   */
  gap(from: number, to: number): void {
    if (this.#state !== 'subscribed' || this.#offset === null || to <= this.#offset) return
    this.#offset = to
    this.emit('subscribed', { offset: to, epoch: this.#epoch, recovered: false, missing: { from, to } })
  }

  /**
   * The session was replaced: subscribe again from where this channel left off. A subscribe in
   * flight is already on its way to the new session (carried over, or sent again when the old
   * session lost it), so it is not sent twice.
   */
  renew(): void {
    if (this.#state === 'unsubscribed' || this.#subscribing) return
    this.#state = 'subscribing'
    this.#start().catch((e: SwitchboardError) => this.emit('error', e))
  }

  #start(): Promise<void> {
    this.#replayed = 0
    const attempt = this.#request(this.#generation).finally(() => {
      if (this.#subscribing === attempt) this.#subscribing = null
    })
    this.#subscribing = attempt
    return attempt
  }

  /**
   * Sends SUBSCRIBE until the server answers. When the session is lost first, the frame is sent
   * again at once: it waits in the new session's outbox (the lost one's is already cleared) and
   * leaves on its first line, with `since` from whatever the old session delivered meanwhile.
   */
  async #request(generation: number): Promise<void> {
    let result: Subscribed
    for (;;) {
      const since: StreamPosition | null = this.#epoch ? [this.#offset ?? 0, this.#epoch] : null
      const recent = since === null && this.#recent > 0 ? this.#recent : 0
      try {
        result = (await this.#host.session.request((seq) =>
          recent > 0 ? [FrameType.SUBSCRIBE, seq, this.name, null, recent] : [FrameType.SUBSCRIBE, seq, this.name, since],
        )) as Subscribed
        break
      } catch (e) {
        if (generation !== this.#generation) return
        if (e instanceof SwitchboardError && e.code === 'SESSION_LOST') continue
        this.#state = 'unsubscribed'
        throw e
      }
    }
    if (generation !== this.#generation) return
    this.#state = 'subscribed'
    this.#offset = this.#offset !== null && this.#epoch === result.epoch ? Math.max(this.#offset, result.offset) : result.offset
    this.#epoch = result.epoch
    this.emit('subscribed', result)
  }
}
