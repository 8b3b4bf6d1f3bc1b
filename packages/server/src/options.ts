import {
  HEARTBEAT_MS,
  MAX_BATCH_BYTES,
  MAX_BATCH_FRAMES,
  MAX_MESSAGE_BYTES,
  POLL_TIMEOUT_MS,
  RECOVERY_MS,
  REPLAY_BUFFER_BYTES,
  REPLAY_BUFFER_FRAMES,
  TRANSPORTS,
  type TransportName,
} from '@switchboard/protocol'
import type { Context } from 'hono'
import type { Adapter } from './adapters/adapter.js'
import { createMemoryAdapter } from './adapters/memory.js'
import type { Logger } from './log.js'

/** Options of createSwitchboard. Every limit has a default; units are in the names. */
export interface SwitchboardOptions<Identity = unknown> {
  /**
   * Runs once per session, at negotiate. Its result is the session's identity for its whole life.
   * Return `false` or throw to refuse (answered 401 UNAUTHORIZED). Default: every client is anonymous (`null`).
   */
  authenticate?: (c: Context) => Identity | false | Promise<Identity | false>
  /** Transports offered to clients, in preference order. Default: all three. */
  transports?: readonly TransportName[]
  /**
   * Browser Origins allowed on every endpoint: a list of origins (`https://app.example`), `'*'`,
   * or a predicate. Default: same-origin only (the Origin's host equals the Host header).
   * Requests without an Origin header (non-browser clients) are always allowed.
   */
  origins?: '*' | readonly string[] | ((origin: string) => boolean)
  /** Channel fan-out, offsets, history, presence and the session directory. Default: createMemoryAdapter() (one node). */
  adapter?: Adapter
  heartbeatMs?: number
  recoveryMs?: number
  pollTimeoutMs?: number
  maxMessageBytes?: number
  maxBatchBytes?: number
  maxBatchFrames?: number
  replayBufferFrames?: number
  replayBufferBytes?: number
  /**
   * Requests of one session received but not yet processed, at most (by count and by batch bytes).
   * The server holds a session's requests while the client owes acks for half the replay buffer;
   * an honest client stops at its outbox (1,000 requests, 4 MiB by default), so only one that
   * ignores acks gets past these, and is ended with BACKLOG_FULL. Default 10,000 and 16 MiB.
   */
  maxPendingRequests?: number
  maxPendingBytes?: number
  /** Most live sessions on this node; past it negotiate answers 503 TOO_MANY_SESSIONS. */
  maxSessions?: number
  /**
   * New sessions per client, a token bucket: `negotiateRatePerSecond` a second, bursts of
   * `negotiateBurst`; past it negotiate answers 429 RATE_LIMITED with retryAfterMs, so one caller
   * cannot fill the node. Default 500 and 10,000: sessions that are never attached expire after
   * recoveryMs, so one client holds at most about 10,000 + 500 x 60 = 40,000 of the node's
   * 100,000 (with the defaults), and a load test or a NAT of 10,000 users still connects at once.
   */
  negotiateRatePerSecond?: number
  negotiateBurst?: number
  /**
   * What a client is, for that limit. Default: the address the request came from (on Node; none
   * elsewhere, and then no limit). Behind a proxy every request comes from the proxy: key on what
   * the proxy states (`c.req.header('x-forwarded-for')`), an API key or the identity instead.
   */
  negotiateKey?: (c: Context) => string | undefined
  /**
   * Most live sessions of one identity (authenticate's result, keyed by `identityKey`); past it
   * negotiate answers 503 TOO_MANY_SESSIONS. Anonymous sessions (identity null) are not counted.
   * Default 1,000.
   */
  maxSessionsPerIdentity?: number
  /**
   * Requests of one session in flight at once besides its line: upstream POSTs and SSE probes
   * (the client sends one POST at a time and one probe at a time). Past it: 429 RATE_LIMITED.
   * Default 4.
   */
  maxRequestsPerSession?: number
  /** Channels one session may be subscribed to; past it a subscribe is answered TOO_MANY_SUBSCRIPTIONS. Default 1,000. */
  maxSubscriptionsPerSession?: number
  /**
   * Publishes and calls of one session, a token bucket: `requestRatePerSecond` a second, bursts of
   * `requestBurst`. Past it they are paced, never refused: each waits for its token, unacked, with
   * the session's later frames behind it, so the client's outbox fills and its app's requests wait
   * there. Default 20,000 and 200,000: far above what one honest session sends, even a pipelined
   * burst; what it bounds is one session's share of the node.
   */
  requestRatePerSecond?: number
  requestBurst?: number
  /** How identities are told apart. Default: a string identity itself, else its `id`, else its JSON. */
  identityKey?: (identity: Identity) => string | undefined
  /** Receives log events; nothing is logged without it. */
  logger?: Logger
}

export type ResolvedOptions<Identity> = Required<
  Omit<SwitchboardOptions<Identity>, 'authenticate' | 'logger' | 'origins' | 'negotiateKey' | 'identityKey'>
> &
  Pick<SwitchboardOptions<Identity>, 'authenticate' | 'logger' | 'origins'> & {
    negotiateKey: (c: Context) => string | undefined
    identityKey: (identity: Identity) => string | undefined
  }

export function resolveOptions<Identity>(o: SwitchboardOptions<Identity>): ResolvedOptions<Identity> {
  const transports = o.transports ?? TRANSPORTS
  for (const t of transports) {
    if (!TRANSPORTS.includes(t)) throw new TypeError(`Unknown transport "${t}"`)
  }
  return {
    authenticate: o.authenticate,
    logger: o.logger,
    origins: o.origins,
    transports,
    adapter: o.adapter ?? createMemoryAdapter(),
    heartbeatMs: positive(o.heartbeatMs, HEARTBEAT_MS, 'heartbeatMs'),
    recoveryMs: positive(o.recoveryMs, RECOVERY_MS, 'recoveryMs'),
    pollTimeoutMs: positive(o.pollTimeoutMs, POLL_TIMEOUT_MS, 'pollTimeoutMs'),
    maxMessageBytes: positive(o.maxMessageBytes, MAX_MESSAGE_BYTES, 'maxMessageBytes'),
    maxBatchBytes: positive(o.maxBatchBytes, MAX_BATCH_BYTES, 'maxBatchBytes'),
    maxBatchFrames: positive(o.maxBatchFrames, MAX_BATCH_FRAMES, 'maxBatchFrames'),
    replayBufferFrames: positive(o.replayBufferFrames, REPLAY_BUFFER_FRAMES, 'replayBufferFrames'),
    replayBufferBytes: positive(o.replayBufferBytes, REPLAY_BUFFER_BYTES, 'replayBufferBytes'),
    maxSessions: positive(o.maxSessions, 100_000, 'maxSessions'),
    maxPendingRequests: positive(o.maxPendingRequests, 10_000, 'maxPendingRequests'),
    negotiateRatePerSecond: positive(o.negotiateRatePerSecond, 500, 'negotiateRatePerSecond'),
    negotiateBurst: positive(o.negotiateBurst, 10_000, 'negotiateBurst'),
    negotiateKey: o.negotiateKey ?? clientAddress,
    maxSessionsPerIdentity: positive(o.maxSessionsPerIdentity, 1_000, 'maxSessionsPerIdentity'),
    maxRequestsPerSession: positive(o.maxRequestsPerSession, 4, 'maxRequestsPerSession'),
    maxSubscriptionsPerSession: positive(o.maxSubscriptionsPerSession, 1_000, 'maxSubscriptionsPerSession'),
    requestRatePerSecond: positive(o.requestRatePerSecond, 20_000, 'requestRatePerSecond'),
    requestBurst: positive(o.requestBurst, 200_000, 'requestBurst'),
    identityKey: o.identityKey ?? defaultIdentityKey,
    maxPendingBytes: positive(o.maxPendingBytes, 16 * 1024 * 1024, 'maxPendingBytes'),
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}

/** The address a request came from, read from the Node request when there is one (duck-typed). */
function clientAddress(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
}

function defaultIdentityKey(identity: unknown): string | undefined {
  if (identity === null || identity === undefined) return undefined
  if (typeof identity === 'string') return identity
  const id = (identity as { id?: unknown }).id
  if (typeof id === 'string' || typeof id === 'number') return String(id)
  try {
    return JSON.stringify(identity)
  } catch {
    return undefined // a cycle, a BigInt: not counted
  }
}
