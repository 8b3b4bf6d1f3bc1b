/**
 * Every error Switchboard reports, in one table. A code is never renamed or reused: add a new one.
 * `status` is the HTTP status, `close` the WebSocket close code (4000-4999).
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, close: 4000, message: 'The request is malformed' },
  MALFORMED_FRAME: { status: 400, close: 4001, message: 'A frame could not be decoded' },
  MESSAGE_TOO_LARGE: { status: 413, close: 4002, message: 'A message exceeds maxMessageBytes' },
  BATCH_TOO_LARGE: { status: 413, close: 4003, message: 'A batch exceeds the size or frame limit' },
  UNAUTHORIZED: { status: 401, close: 4004, message: 'Authentication failed' },
  ORIGIN_NOT_ALLOWED: { status: 403, close: 4005, message: 'The Origin is not allowed' },
  UNKNOWN_SESSION: { status: 404, close: 4006, message: 'The session does not exist or has expired' },
  INVALID_TOKEN: { status: 401, close: 4007, message: 'The resume token does not match the session' },
  TRANSPORT_NOT_ALLOWED: { status: 400, close: 4008, message: 'The transport is not enabled' },
  UNKNOWN_CHANNEL: { status: 404, close: 4009, message: 'No channel matches that name' },
  FORBIDDEN: { status: 403, close: 4010, message: 'Not allowed' },
  UNKNOWN_RPC: { status: 404, close: 4011, message: 'No RPC method has that name' },
  RPC_ERROR: { status: 500, close: 4012, message: 'The RPC handler failed' },
  TIMEOUT: { status: 408, close: 4013, message: 'Timed out' },
  SLOW_CONSUMER: { status: 503, close: 4014, message: 'The replay buffer overflowed' },
  SESSION_LOST: { status: 410, close: 4015, message: 'The session ended; in-flight requests may not have been processed' },
  SERVER_SHUTDOWN: { status: 503, close: 4016, message: 'The server is shutting down' },
  CLOSED: { status: 499, close: 4017, message: 'The client was closed' },
  CONNECT_FAILED: { status: 503, close: 4018, message: 'No transport could connect' },
  OUTBOX_FULL: { status: 503, close: 4019, message: 'Too many messages are waiting to be acknowledged' },
  INTERNAL: { status: 500, close: 4020, message: 'Internal server error' },
  SUPERSEDED: { status: 409, close: 4021, message: 'A newer transport took over the session' },
  PROTOCOL_MISMATCH: { status: 400, close: 4022, message: 'Client and server speak different protocol versions' },
  TOO_MANY_SESSIONS: { status: 503, close: 4023, message: 'The server holds its maximum number of sessions' },
  NODE_UNREACHABLE: { status: 503, close: 4024, message: 'The node that owns the session could not be reached' },
  BACKLOG_FULL: { status: 429, close: 4025, message: 'More requests wait to be processed than the server holds for a session' },
  RATE_LIMITED: { status: 429, close: 4026, message: 'Too many requests: retry after retryAfterMs' },
  TOO_MANY_SUBSCRIPTIONS: { status: 403, close: 4027, message: 'The session is subscribed to its maximum number of channels' },
  ADAPTER_UNAVAILABLE: { status: 503, close: 4028, message: 'The broker that connects the nodes is unavailable' },
} as const satisfies Record<string, { status: number; close: number; message: string }>

export type ErrorCode = keyof typeof ERRORS

const BY_CLOSE = new Map<number, ErrorCode>((Object.keys(ERRORS) as ErrorCode[]).map((code) => [ERRORS[code].close, code]))

/** True when `code` is one of ours (safe to trust from the wire). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code)
}

/** The error code behind a WebSocket close code, if it is one of ours. */
export function codeFromClose(close: number): ErrorCode | undefined {
  return BY_CLOSE.get(close)
}

/** The one error class. Match on `code`, never on `message`. */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError'
  readonly code: ErrorCode
  /** Extra detail an RPC handler chose to send. */
  readonly data: unknown
  /** When a refusal that may pass later is worth trying again (ms): a server full or restarting. */
  readonly retryAfterMs: number | undefined

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; data?: unknown; retryAfterMs?: number }) {
    super(message ?? ERRORS[code].message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.data = options?.data
    this.retryAfterMs = options?.retryAfterMs
  }

  get status(): number {
    return ERRORS[this.code].status
  }

  get closeCode(): number {
    return ERRORS[this.code].close
  }

  /** The `{ code, message }` body every HTTP error answer carries, with `retryAfterMs` when set. */
  toJSON(): { code: ErrorCode; message: string; retryAfterMs?: number } {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs }
  }
}
