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
  /** Receives log events; nothing is logged without it. */
  logger?: Logger
}

export type ResolvedOptions<Identity> = Required<
  Omit<SwitchboardOptions<Identity>, 'authenticate' | 'logger' | 'origins'>
> &
  Pick<SwitchboardOptions<Identity>, 'authenticate' | 'logger' | 'origins'>

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
    maxPendingBytes: positive(o.maxPendingBytes, 16 * 1024 * 1024, 'maxPendingBytes'),
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}
