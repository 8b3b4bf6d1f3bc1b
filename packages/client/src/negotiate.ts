import { isErrorCode, NEGOTIATE_PATH, PROTOCOL_VERSION, SwitchboardError, type NegotiateResponse, type TransportName } from '@switchboard/protocol'
import { endpointUrl } from './endpoints.js'
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
    if (isErrorCode(b.code)) {
      // A server that is full or restarting says when to come back.
      const retryAfterMs = typeof b.retryAfterMs === 'number' && b.retryAfterMs >= 0 ? Math.min(b.retryAfterMs, MAX_RETRY_AFTER_MS) : undefined
      throw new SwitchboardError(
        b.code,
        typeof b.message === 'string' ? b.message : undefined,
        retryAfterMs === undefined ? undefined : { retryAfterMs },
      )
    }
    throw new SwitchboardError('CONNECT_FAILED', `negotiate answered HTTP ${answer.status}`)
  }
  if (typeof b.sessionId !== 'string' || typeof b.resumeToken !== 'string' || !Array.isArray(b.transports))
    throw new SwitchboardError('PROTOCOL_MISMATCH', 'negotiate answered an unexpected body')
  return b as SessionInfo
}
