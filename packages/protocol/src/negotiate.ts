import type { TransportName } from './constants.js'

/** The body of `POST {base}/negotiate`'s answer: everything a client needs to attach a transport. */
export interface NegotiateResponse {
  version: number
  sessionId: string
  /** Proves the session on every later request: sent in a header or the WebSocket HELLO, never a URL. */
  resumeToken: string
  /** Transports the client may use, in its preference order. */
  transports: TransportName[]
  heartbeatMs: number
  recoveryMs: number
  pollTimeoutMs: number
  maxMessageBytes: number
  maxBatchBytes: number
  maxBatchFrames: number
  /**
   * Requests of a session the server holds unprocessed at most (it takes none while it owes the
   * client acks for half its replay buffer), and their UTF-8 bytes: one more ends the session
   * BACKLOG_FULL. The client keeps its outbox within them (every frame in it may be held there at
   * once). Absent from servers before it: the client keeps to its own outbox bounds.
   */
  maxPendingRequests?: number
  maxPendingBytes?: number
  /**
   * Present when the server publishes each client publish once per key across sessions (a
   * cluster): a publish first sent as seq N of this session counts as key `<publishKey>.<N>`, so
   * the client may resend it with that key on a new session when this one is lost before it knew
   * whether the publish was processed. Absent: such a publish fails with SESSION_LOST instead.
   */
  publishKey?: string
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** True when `v` has the shape of a NegotiateResponse (what a client checks before trusting one). */
export function isNegotiateResponse(v: unknown): v is NegotiateResponse {
  if (typeof v !== 'object' || v === null) return false
  const a = v as Record<keyof NegotiateResponse, unknown>
  return (
    typeof a.sessionId === 'string' &&
    typeof a.resumeToken === 'string' &&
    Array.isArray(a.transports) &&
    a.transports.every((t) => typeof t === 'string') &&
    isCount(a.version) &&
    isCount(a.heartbeatMs) &&
    isCount(a.recoveryMs) &&
    isCount(a.pollTimeoutMs) &&
    isCount(a.maxMessageBytes) &&
    isCount(a.maxBatchBytes) &&
    isCount(a.maxBatchFrames) &&
    (a.maxPendingRequests === undefined || isCount(a.maxPendingRequests)) &&
    (a.maxPendingBytes === undefined || isCount(a.maxPendingBytes)) &&
    (a.publishKey === undefined || typeof a.publishKey === 'string')
  )
}
