import { FrameType, SwitchboardError, type ClientDataFrame } from '@switchboard/protocol'
import type { Hono } from 'hono'
import { createApp } from './app.js'
import { createAuthenticate } from './auth.js'
import { Calls } from './calls.js'
import { TokenBucket } from './limits.js'
import { ChannelService } from './channel-service.js'
import type { ChannelOptions } from './channels.js'
import { resolveOptions, type SwitchboardOptions } from './options.js'
import type { RpcHandler } from './rpc.js'
import { WEB_RUNTIME, type Runtime } from './runtime.js'
import { Overlapping } from './overlaps.js'
import { SessionRegistry } from './session-registry.js'
import { ChannelHandOver } from './cluster/channel-hand-over.js'
import { SessionRouter, type RoutingCounts } from './cluster/router.js'
import type { Session } from './session.js'

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
   * This node's id and what it routed since it started: requests it forwarded to the node holding
   * their session, sessions that moved here and away. All zero with an adapter that serves one node.
   */
  readonly routing: Readonly<RoutingCounts> & { readonly nodeId: string }
  /**
   * Ends every session with SERVER_SHUTDOWN, telling each client to come back after `reconnectMs`
   * (default 1000) plus a random share of `spreadMs` (default: reconnectMs, or 1 ms per session if
   * more, so a restart sees about 1,000 returns a second at most, not all in one millisecond),
   * refuses new sessions (503 with Retry-After), and stops the timers. A long-polling client hears
   * of it only with a poll: close() resolves once each one still polling has (or after
   * `drainTimeoutMs`, default 2000), so that the requests its session never processed move to
   * its next session. Close the HTTP server after that.
   */
  close(options?: { reconnectMs?: number; spreadMs?: number; drainTimeoutMs?: number }): Promise<void>
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
  let router: SessionRouter | undefined
  const channels = new ChannelService<Identity>(
    o.adapter,
    o.maxMessageBytes,
    o.logger,
    o.maxSubscriptionsPerSession,
    (request) => {
      if (router === undefined) throw new SwitchboardError('NODE_UNREACHABLE', 'This node takes no forwarded requests')
      return router.onForward(request)
    },
    runtime.byteLength,
  )
  const calls = new Calls<Identity>(o.maxMessageBytes, o.logger)
  /** Publishes and calls per session: a bucket made on a session's first one (idle sessions pay nothing). */
  const rates = new WeakMap<Session, TokenBucket>()

  /** How long the session's next publish or call waits for its rate (0: none). */
  function rateWait(session: Session): number {
    const now = Date.now()
    let bucket = rates.get(session)
    if (bucket === undefined) rates.set(session, (bucket = new TokenBucket(o.requestRatePerSecond, o.requestBurst, now)))
    return bucket.reserve(now)
  }

  /**
   * Routes a client's data frame, in seq order; a returned promise holds the session's later frames.
   * A publish or call past the session's rate waits for it, and the frames behind it with it: they
   * stay unacked, so the client's outbox fills and its app's requests wait there (backpressure,
   * never a refusal); a client that ignores its acks ends with BACKLOG_FULL.
   */
  function dispatch(session: Session, frame: ClientDataFrame): void | Promise<void> | Overlapping {
    if (frame[0] !== FrameType.PUBLISH && frame[0] !== FrameType.CALL) return route(session, frame)
    const waitMs = rateWait(session)
    if (waitMs === 0) return route(session, frame)
    return new Promise<void>((resolve) => setTimeout(resolve, waitMs)).then(() => {
      // The session ended meanwhile: a publish is carried over by the client (the final ack
      // excludes it); a call was acked when it began to wait and its client rejects it SESSION_LOST.
      if (session.ended) return
      const pending = route(session, frame)
      return pending instanceof Overlapping ? pending.settled : pending
    })
  }

  function route(session: Session, frame: ClientDataFrame): void | Promise<void> | Overlapping {
    switch (frame[0]) {
      case FrameType.PUBLISH:
        // In a cluster every client publish is keyed: a resend after a lost session goes out once.
        return channels.publish(session, frame[1], frame[2], frame[3], frame[4] ?? router?.publishKey(session, frame[1]))
      case FrameType.SUBSCRIBE:
        return channels.subscribe(session, frame[1], frame[2], frame[3], frame[4] ?? 0)
      case FrameType.UNSUBSCRIBE:
        return channels.unsubscribe(session, frame[1], frame[2])
      case FrameType.CALL:
        // Calls run concurrently: a slow handler must not hold up the session's other frames.
        calls.call(session, frame[1], frame[2], frame[3])
    }
  }

  const registry = new SessionRegistry(o, dispatch, (session) => channels.removeAll(session), runtime.byteLength)
  const app = createApp(registry, createAuthenticate(o.authenticate), runtime)
  const directory = o.adapter.sessions
  if (!directory.local) {
    router = new SessionRouter(registry, new ChannelHandOver(channels.registry, o.adapter), directory, (request, env) => app.fetch(request, env))
    registry.router = router
  }
  const idle: RoutingCounts = { forwarded: 0, movedIn: 0, movedOut: 0 }

  const sb: Switchboard<Identity> = {
    app,
    channel(pattern, channelOptions = {}) {
      channels.define(pattern, channelOptions as ChannelOptions<unknown, unknown>)
      return sb
    },
    publish(channel, data, publishOptions) {
      return channels.publishFromServer(channel, data, publishOptions?.idempotencyKey)
    },
    rpc(method, handler) {
      calls.define(method, handler as RpcHandler<unknown, unknown, Identity>)
      return sb
    },
    get sessionCount() {
      return registry.sessions.size
    },
    get routing() {
      return { nodeId: directory.nodeId, ...(router?.counts ?? idle) }
    },
    async close({ reconnectMs = 1_000, spreadMs, drainTimeoutMs = 2_000 } = {}) {
      const spread = spreadMs ?? Math.max(reconnectMs, registry.sessions.size)
      registry.shutDown(reconnectMs + spread)
      await registry.drain(() => reconnectMs + Math.floor(Math.random() * spread), drainTimeoutMs)
      registry.close()
      await o.adapter.close()
    },
  }
  return sb
}
