import {
  isErrorCode,
  isNegotiateResponse,
  NEGOTIATE_PATH,
  PROTOCOL_VERSION,
  SwitchboardError,
  type CloseFrame,
  type ErrorCode,
  type NegotiateResponse,
  type TransportName,
} from '@switchboard/protocol'
import { endpointUrl } from './endpoints.js'
import type { ConnectionConfig } from './connection-config.js'
import { isOk, type HttpAnswer, type HttpClient } from './http/http.js'

/** The server's answer to negotiate. */
export type SessionInfo = NegotiateResponse

/** Error codes after which retrying cannot help: the client closes instead. */
export const FATAL_CODES = new Set([
  'UNAUTHORIZED',
  'ORIGIN_NOT_ALLOWED',
  'PROTOCOL_MISMATCH',
  'TRANSPORT_NOT_ALLOWED',
  'MALFORMED_FRAME',
  'BATCH_TOO_LARGE',
  'BAD_REQUEST',
])

/** A server's retryAfterMs is honoured up to this long (10 minutes): a bad value cannot park a client for good. */
const MAX_RETRY_AFTER_MS = 10 * 60_000

/** Creates a session. Throws a SwitchboardError: the server's code, or CONNECT_FAILED when it could not be reached. */
export async function negotiate(
  baseUrl: string,
  init: { http: HttpClient; headers: Record<string, string>; transports: readonly TransportName[]; timeoutMs: number },
): Promise<SessionInfo> {
  let answer: HttpAnswer
  let text: string
  const signal = AbortSignal.timeout(init.timeoutMs)
  try {
    answer = await init.http(endpointUrl(baseUrl, NEGOTIATE_PATH), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: JSON.stringify({ version: PROTOCOL_VERSION, transports: init.transports }),
      signal,
    })
    text = await answer.text()
  } catch (cause) {
    throw new SwitchboardError('CONNECT_FAILED', `negotiate failed: ${(cause as Error).message}`, { cause })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (cause) {
    throw new SwitchboardError('CONNECT_FAILED', `negotiate answered HTTP ${answer.status} without JSON`, { cause })
  }
  const b = (body ?? {}) as Partial<SessionInfo> & { code?: unknown; message?: unknown; retryAfterMs?: unknown }
  if (!isOk(answer)) {
    if (isErrorCode(b.code)) throw refusal(b.code, typeof b.message === 'string' ? b.message : undefined, b.retryAfterMs)
    throw new SwitchboardError('CONNECT_FAILED', `negotiate answered HTTP ${answer.status}`)
  }
  if (!isNegotiateResponse(b)) throw new SwitchboardError('PROTOCOL_MISMATCH', 'negotiate answered an unexpected body')
  return b
}

/** negotiate with a connection's settings: its headers (asked for now), transports and a timeout of at least 5 s. */
export async function negotiateFor(c: ConnectionConfig): Promise<SessionInfo> {
  const headers = await c.headers()
  return negotiate(c.baseUrl, { http: c.http, headers, transports: c.transports, timeoutMs: Math.max(c.attemptTimeoutMs, 5_000) })
}

/** The refusal of a WebSocket that negotiated in its upgrade: its CLOSE frame, read as negotiate's error answer. */
export function refusalOf([, code, message, retryAfterMs]: CloseFrame): SwitchboardError {
  return refusal(code, message, retryAfterMs)
}

/** A server that is full or restarting says when to come back (honoured up to MAX_RETRY_AFTER_MS). */
function refusal(code: ErrorCode, message: string | undefined, retryAfterMs: unknown): SwitchboardError {
  if (typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0)) return new SwitchboardError(code, message)
  return new SwitchboardError(code, message, { retryAfterMs: Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) })
}
