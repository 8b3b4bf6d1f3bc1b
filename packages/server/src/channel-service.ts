import { encodeData, exceedsBytes, SwitchboardError, type StreamPosition } from '@switchboard/protocol'
import type { Adapter, AdapterEvents } from './adapters/adapter.js'
import { readCatchUp } from './catch-up.js'
import { ChannelRegistry, type ChannelContext, type ChannelDefinition, type ChannelOptions } from './channels.js'
import { toSwitchboardError } from './http.js'
import type { Logger } from './log.js'
import { Overlapping } from './overlaps.js'
import { OVERSIZED } from './oversized.js'
import type { Session } from './session.js'
import type { Subscription } from './subscription.js'

const UNENCODABLE = 'The message could not be encoded as JSON'

/**
 * What clients and the app do with channels: subscribe (history merged with live messages, so
 * none is lost or doubled), publish (through the channel's authorize and onPublish hooks) and
 * unsubscribe. Every answer goes back to the session as a reply to the client's frame.
 */
export class ChannelService<Identity> {
  readonly registry: ChannelRegistry
  #adapter: Adapter
  #log: Logger | undefined
  #maxMessageBytes: number
  /** The adapter has started: subscribes and server publishes wait for it. */
  #ready: Promise<void>

  #maxSubscriptions: number
  constructor(
    adapter: Adapter,
    maxMessageBytes: number,
    log: Logger | undefined,
    maxSubscriptions = Number.POSITIVE_INFINITY,
    onForward?: AdapterEvents['onForward'],
    byteLength?: (s: string) => number,
  ) {
    this.#maxSubscriptions = maxSubscriptions
    this.registry = new ChannelRegistry(adapter, log, byteLength)
    this.#adapter = adapter
    this.#log = log
    this.#maxMessageBytes = maxMessageBytes
    const started = adapter.start({
      onMessage: (channel, offset, epoch, body) => this.registry.deliver(channel, offset, epoch, body),
      onForward,
      logger: log,
    })
    this.#ready = Promise.resolve(started)
  }

  /** Resolves once the adapter has started (it rejects if the adapter could not start). */
  get ready(): Promise<void> {
    return this.#ready
  }

  define(pattern: string, options: ChannelOptions<unknown, unknown>): void {
    this.registry.define(pattern, options)
  }

  /** A publish from the app: no hooks, and once per idempotency key. Resolves to the offset. */
  async publishFromServer(channel: string, data: unknown, idempotencyKey: string | undefined): Promise<number> {
    await this.#ready
    const def = this.registry.match(channel)
    return this.#adapter.publish(channel, encodeData(data), def?.options.historySize ?? 0, idempotencyKey)
  }

  async subscribe(session: Session, ref: number, channel: string, since: StreamPosition | null, recent: number): Promise<void> {
    const channels = this.registry
    const def = channels.match(channel)
    if (!def) return session.replyError(ref, new SwitchboardError('UNKNOWN_CHANNEL', `No channel matches "${channel}"`))
    const held = channels.channelsOf(session)
    if (held.size >= this.#maxSubscriptions && !held.has(channel))
      return session.replyError(
        ref,
        new SwitchboardError('TOO_MANY_SUBSCRIPTIONS', `A session may be subscribed to ${this.#maxSubscriptions} channels`),
      )
    let subscription: Subscription | undefined
    try {
      await this.#authorize(def, this.#context(session, channel, 'subscribe'))
      await this.#ready
      if (session.ended) return
      // Live messages are held from here on, so none published while history is read is lost.
      subscription = channels.join(channel, session)
      await channels.ready(channel)
      const page = await readCatchUp(this.#adapter, channel, since, recent)
      if (!subscription.closed) session.reply(ref, subscription.open(since, page))
    } catch (e) {
      if (subscription && !subscription.closed) channels.leave(channel, session)
      // A refusal is the app's answer; anything else is the adapter failing, worth a log line.
      if (!(e instanceof SwitchboardError))
        this.#log?.({ kind: 'channel', message: `subscribe to ${channel} failed`, sessionId: session.id, data: e })
      session.replyError(ref, toSwitchboardError(e, 'INTERNAL'))
    }
  }

  /** A client publish; `key`: publish once per key (within the adapter's window). */
  publish(session: Session, ref: number, channel: string, data: unknown, key?: string): void | Promise<void> | Overlapping {
    if (data === OVERSIZED) return session.replyError(ref, this.#tooLarge())
    const def = this.registry.match(channel)
    if (!def) return session.replyError(ref, new SwitchboardError('UNKNOWN_CHANNEL', `No channel matches "${channel}"`))
    if (def.options.clientPublish === false)
      return session.replyError(ref, new SwitchboardError('FORBIDDEN', `Clients may not publish to ${channel}`))
    if (!def.options.authorize && !def.options.onPublish) return this.#publishNow(session, ref, channel, def, data, key)
    return this.#publishChecked(session, ref, channel, def, data, key)
  }

  unsubscribe(session: Session, ref: number, channel: string): void {
    this.registry.leave(channel, session)
    session.reply(ref, null)
  }

  /** The session ended: it leaves every channel. */
  removeAll(session: Session): void {
    this.registry.removeAll(session)
  }

  async #publishChecked(session: Session, ref: number, channel: string, def: ChannelDefinition, data: unknown, key: string | undefined) {
    const ctx = this.#context(session, channel, 'publish')
    let message = data
    try {
      await this.#authorize(def, ctx)
      const hook = def.options.onPublish as ChannelOptions<unknown, Identity>['onPublish']
      if (hook) message = await hook(data, ctx)
    } catch (e) {
      return session.replyError(ref, toSwitchboardError(e, 'FORBIDDEN'))
    }
    // Hooks make publishes finish out of order: each waits for the one before, broker included.
    const published = this.#publishNow(session, ref, channel, def, message, key, true)
    if (published instanceof Overlapping) await published.settled
  }

  /** `shaped`: the data came from the channel's onPublish hook, not straight from the client. */
  #publishNow(session: Session, ref: number, channel: string, def: ChannelDefinition, data: unknown, key: string | undefined, shaped = false) {
    let dataJson: string
    try {
      dataJson = encodeData(data)
    } catch (e) {
      // Client data that parsed but cannot be encoded again (nested deeper than the stack allows),
      // or an onPublish result that JSON cannot hold (a BigInt, a cycle): this publish only fails.
      if (shaped) this.#log?.({ kind: 'channel', message: `onPublish result for ${channel} could not be encoded`, sessionId: session.id, data: e })
      return session.replyError(ref, shaped ? new SwitchboardError('INTERNAL', UNENCODABLE) : new SwitchboardError('BAD_REQUEST', UNENCODABLE))
    }
    if (exceedsBytes(dataJson, this.#maxMessageBytes)) return session.replyError(ref, this.#tooLarge())
    const offset = this.#adapter.publish(channel, dataJson, def.options.historySize ?? 0, key)
    if (typeof offset === 'number') return session.reply(ref, { offset })
    // The session's next frames need not wait for the broker: it keeps the order of our publishes.
    return new Overlapping(
      offset.then(
        (n) => session.reply(ref, { offset: n }),
        (e) => session.replyError(ref, toSwitchboardError(e, 'INTERNAL')),
      ),
    )
  }

  #tooLarge(): SwitchboardError {
    return new SwitchboardError('MESSAGE_TOO_LARGE', `A message exceeds ${this.#maxMessageBytes} bytes`)
  }

  #context(session: Session, channel: string, action: 'subscribe' | 'publish'): ChannelContext<Identity> {
    return { channel, action, identity: session.identity as Identity, sessionId: session.id }
  }

  async #authorize(def: ChannelDefinition, ctx: ChannelContext<Identity>): Promise<void> {
    const hook = def.options.authorize as ChannelOptions<unknown, Identity>['authorize']
    if (hook && (await hook(ctx)) !== true) throw new SwitchboardError('FORBIDDEN', `Not allowed to ${ctx.action} ${ctx.channel}`)
  }
}
