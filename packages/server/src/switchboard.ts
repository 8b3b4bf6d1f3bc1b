import {
  encodeData,
  exceedsBytes,
  FrameType,
  isErrorCode,
  SwitchboardError,
  type ClientDataFrame,
  type StreamPosition,
} from '@switchboard/protocol'
import type { Context, Hono } from 'hono'
import { createApp } from './app.js'
import { readCatchUp } from './catch-up.js'
import { ChannelRegistry, type ChannelContext, type ChannelDefinition, type ChannelOptions } from './channels.js'
import { toSwitchboardError } from './http.js'
import { OVERSIZED, SessionRegistry } from './session-registry.js'
import { resolveOptions, type SwitchboardOptions } from './options.js'
import type { RpcHandler } from './rpc.js'
import { WEB_RUNTIME, type Runtime } from './runtime.js'
import type { Session } from './session.js'
import type { Subscription } from './subscription.js'

const UNENCODABLE = 'The message could not be encoded as JSON'

export type { MissingMessages, SubscribeResult } from './catch-up.js'

/** Options of `publish`. */
export interface PublishOptions {
  /**
   * Publishes once per key and channel: a repeat within the adapter's window (2 minutes by
   * default) resolves to the first publish's offset and reaches no one twice.
   */
  idempotencyKey?: string
}

/** A Switchboard server: mount `app` in a Hono app, declare channels and RPC methods, publish from anywhere. */
export interface Switchboard<Identity = unknown> {
  /** The endpoints, as a Hono sub-app: `app.route('/rt', sb.app)`. */
  readonly app: Hono
  /** Declares a family of channels clients may subscribe to (`*` matches one or more characters other than `:`). */
  channel<Msg = unknown>(pattern: string, options?: ChannelOptions<Msg, Identity>): Switchboard<Identity>
  /** Publishes to every subscriber of `channel`, on every node. Resolves to the message's offset. */
  publish<Msg = unknown>(channel: string, data: Msg, options?: PublishOptions): Promise<number>
  /** Declares a request/response method. */
  rpc<Req = unknown, Res = unknown>(method: string, handler: RpcHandler<Req, Res, Identity>): Switchboard<Identity>
  /** Live sessions on this node. */
  readonly sessionCount: number
  /**
   * Ends every session with SERVER_SHUTDOWN, telling each client to come back after `reconnectMs`
   * (default 1000) plus a random share of `spreadMs` (default: reconnectMs, or 1 ms per session if
   * more, so a restart sees about 1,000 returns a second at most, not all in one millisecond),
   * refuses new sessions (503 with Retry-After), and stops the timers. The HTTP server is the
   * app's to close.
   */
  close(options?: { reconnectMs?: number; spreadMs?: number }): Promise<void>
}

/**
 * Creates a Switchboard server on web standards alone: SSE and long polling, in any runtime with
 * fetch's Request and Response. On Node, `@switchboard/server` resolves to the Node entry, whose
 * createSwitchboard serves WebSocket too.
 * @example
 * const sb = createSwitchboard()
 * sb.channel('room:*')
 * app.route('/rt', sb.app)
 * export default { fetch: app.fetch }
 */
export function createSwitchboard<Identity = null>(options: SwitchboardOptions<Identity> = {}): Switchboard<Identity> {
  return createSwitchboardOn(WEB_RUNTIME, options)
}

/** createSwitchboard on `runtime`: the Node entry passes WebSocket support and Buffer.byteLength. */
export function createSwitchboardOn<Identity>(runtime: Runtime, options: SwitchboardOptions<Identity>): Switchboard<Identity> {
  const o = resolveOptions(options)
  const adapter = o.adapter
  const log = o.logger
  const channels = new ChannelRegistry(adapter, log)
  const rpcs = new Map<string, RpcHandler<unknown, unknown, Identity>>()

  const context = (session: Session, channel: string, action: 'subscribe' | 'publish'): ChannelContext<Identity> => ({
    channel,
    action,
    identity: session.identity as Identity,
    sessionId: session.id,
  })

  async function authorize(def: ChannelDefinition, ctx: ChannelContext<Identity>): Promise<void> {
    const hook = def.options.authorize as ChannelOptions<unknown, Identity>['authorize']
    if (hook && (await hook(ctx)) !== true) throw new SwitchboardError('FORBIDDEN', `Not allowed to ${ctx.action} ${ctx.channel}`)
  }

  async function subscribe(
    session: Session,
    ref: number,
    channel: string,
    since: StreamPosition | null,
    recent: number,
  ): Promise<void> {
    const def = channels.match(channel)
    if (!def) return session.replyError(ref, new SwitchboardError('UNKNOWN_CHANNEL', `No channel matches "${channel}"`))
    let subscription: Subscription | undefined
    try {
      await authorize(def, context(session, channel, 'subscribe'))
      await ready
      if (session.ended) return
      // Live messages are held from here on, so none published while history is read is lost.
      subscription = channels.join(channel, session)
      await channels.ready(channel)
      const page = await readCatchUp(adapter, channel, since, recent)
      if (!subscription.closed) session.reply(ref, subscription.open(since, page))
    } catch (e) {
      if (subscription && !subscription.closed) channels.leave(channel, session)
      // A refusal is the app's answer; anything else is the adapter failing, worth a log line.
      if (!(e instanceof SwitchboardError)) log?.({ kind: 'channel', message: `subscribe to ${channel} failed`, sessionId: session.id, data: e })
      session.replyError(ref, toSwitchboardError(e, 'INTERNAL'))
    }
  }

  function publish(session: Session, ref: number, channel: string, data: unknown): void | Promise<void> {
    if (data === OVERSIZED)
      return session.replyError(ref, new SwitchboardError('MESSAGE_TOO_LARGE', `A message exceeds ${o.maxMessageBytes} bytes`))
    const def = channels.match(channel)
    if (!def) return session.replyError(ref, new SwitchboardError('UNKNOWN_CHANNEL', `No channel matches "${channel}"`))
    if (def.options.clientPublish === false)
      return session.replyError(ref, new SwitchboardError('FORBIDDEN', `Clients may not publish to ${channel}`))
    if (!def.options.authorize && !def.options.onPublish) return publishNow(session, ref, channel, def, data)
    return publishChecked(session, ref, channel, def, data)
  }

  async function publishChecked(session: Session, ref: number, channel: string, def: ChannelDefinition, data: unknown) {
    const ctx = context(session, channel, 'publish')
    let message = data
    try {
      await authorize(def, ctx)
      const hook = def.options.onPublish as ChannelOptions<unknown, Identity>['onPublish']
      if (hook) message = await hook(data, ctx)
    } catch (e) {
      return session.replyError(ref, toSwitchboardError(e, 'FORBIDDEN'))
    }
    return publishNow(session, ref, channel, def, message, true)
  }

  /** `shaped`: the data came from the channel's onPublish hook, not straight from the client. */
  function publishNow(session: Session, ref: number, channel: string, def: ChannelDefinition, data: unknown, shaped = false) {
    let dataJson: string
    try {
      dataJson = encodeData(data)
    } catch (e) {
      // Client data that parsed but cannot be encoded again (nested deeper than the stack allows),
      // or an onPublish result that JSON cannot hold (a BigInt, a cycle): this publish only fails.
      if (shaped) log?.({ kind: 'channel', message: `onPublish result for ${channel} could not be encoded`, sessionId: session.id, data: e })
      return session.replyError(ref, shaped ? new SwitchboardError('INTERNAL', UNENCODABLE) : new SwitchboardError('BAD_REQUEST', UNENCODABLE))
    }
    if (exceedsBytes(dataJson, o.maxMessageBytes))
      return session.replyError(ref, new SwitchboardError('MESSAGE_TOO_LARGE', `A message exceeds ${o.maxMessageBytes} bytes`))
    const offset = adapter.publish(channel, dataJson, def.options.historySize ?? 0)
    if (typeof offset === 'number') return session.reply(ref, { offset })
    return offset.then(
      (n) => session.reply(ref, { offset: n }),
      (e) => session.replyError(ref, toSwitchboardError(e, 'INTERNAL')),
    )
  }

  function unsubscribe(session: Session, ref: number, channel: string): void {
    channels.leave(channel, session)
    session.reply(ref, null)
  }

  /** Runs an RPC handler; a sync handler is answered in the same turn, without a promise. */
  function call(session: Session, ref: number, method: string, data: unknown): void {
    const handler = rpcs.get(method)
    if (!handler) return session.replyError(ref, new SwitchboardError('UNKNOWN_RPC', `No RPC method "${method}"`))
    if (data === OVERSIZED)
      return session.replyError(ref, new SwitchboardError('MESSAGE_TOO_LARGE', `A call exceeds ${o.maxMessageBytes} bytes`))
    let result: unknown
    try {
      result = handler(data, { method, identity: session.identity as Identity, sessionId: session.id })
    } catch (e) {
      return callFailed(session, ref, method, e)
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
      (result as PromiseLike<unknown>).then(
        (value) => session.reply(ref, value),
        (e: unknown) => callFailed(session, ref, method, e),
      )
    else session.reply(ref, result)
  }

  function callFailed(session: Session, ref: number, method: string, e: unknown): void {
    // A code outside the table (a cast in the app) would make the client drop the whole batch.
    if (e instanceof SwitchboardError && isErrorCode(e.code)) return session.replyError(ref, e)
    log?.({ kind: 'rpc', message: `${method} failed`, sessionId: session.id, data: e })
    session.replyError(ref, new SwitchboardError('RPC_ERROR'))
  }

  function dispatch(session: Session, frame: ClientDataFrame): void | Promise<void> {
    switch (frame[0]) {
      case FrameType.PUBLISH:
        return publish(session, frame[1], frame[2], frame[3])
      case FrameType.SUBSCRIBE:
        return subscribe(session, frame[1], frame[2], frame[3], frame[4] ?? 0)
      case FrameType.UNSUBSCRIBE:
        return unsubscribe(session, frame[1], frame[2])
      case FrameType.CALL:
        // Calls run concurrently: a slow handler must not hold up the session's other frames.
        call(session, frame[1], frame[2], frame[3])
    }
  }

  const registry = new SessionRegistry(o, dispatch, (session) => channels.removeAll(session), runtime.byteLength)
  const authenticate = async (c: Context): Promise<unknown> => {
    if (!o.authenticate) return null
    let identity: Identity | false
    try {
      identity = await o.authenticate(c)
    } catch (e) {
      if (e instanceof SwitchboardError) throw e
      throw new SwitchboardError('UNAUTHORIZED', undefined, { cause: e })
    }
    if (identity === false) throw new SwitchboardError('UNAUTHORIZED')
    return identity
  }
  const started = adapter.start({
    onMessage: (channel, offset, epoch, body) => channels.deliver(channel, offset, epoch, body),
    logger: log,
  })
  const ready = Promise.resolve(started)

  const sb: Switchboard<Identity> = {
    app: createApp(registry, authenticate, runtime.webSocketRoute),
    channel(pattern, channelOptions = {}) {
      channels.define(pattern, channelOptions as ChannelOptions<unknown, unknown>)
      return sb
    },
    async publish(channel, data, publishOptions) {
      await ready
      const def = channels.match(channel)
      return adapter.publish(channel, encodeData(data), def?.options.historySize ?? 0, publishOptions?.idempotencyKey)
    },
    rpc(method, handler) {
      if (rpcs.has(method)) throw new TypeError(`RPC method "${method}" is defined twice`)
      rpcs.set(method, handler as RpcHandler<unknown, unknown, Identity>)
      return sb
    },
    get sessionCount() {
      return registry.sessions.size
    },
    async close({ reconnectMs = 1_000, spreadMs } = {}) {
      const sessions = [...registry.sessions.values()]
      const spread = spreadMs ?? Math.max(reconnectMs, sessions.length)
      registry.shutDown(reconnectMs + spread)
      for (const session of sessions) session.end('SERVER_SHUTDOWN', reconnectMs + Math.floor(Math.random() * spread))
      registry.close()
      await adapter.close()
    },
  }
  return sb
}
