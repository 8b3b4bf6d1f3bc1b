import { PROTOCOL_VERSION, SwitchboardError, type NegotiateResponse, type TransportName } from '@switchboard/protocol'
import type { Context } from 'hono'
import type { SessionRegistry } from './session-registry.js'
import type { Session } from './session.js'

/** What a client asks for when it negotiates: its protocol version and the transports it may use. */
export interface NegotiateRequest {
  version: unknown
  /** Best first; undefined: every transport the server offers. */
  transports: TransportName[] | undefined
}

/** A new session and the answer that tells its client how to reach it. */
export interface Negotiated {
  session: Session
  answer: NegotiateResponse
}

/**
 * Creates a session for the client of request `c`: `POST /negotiate`, or a WebSocket upgrade that
 * negotiates in place (`?negotiate=`). Throws the refusal: PROTOCOL_MISMATCH, SERVER_SHUTDOWN,
 * RATE_LIMITED, UNAUTHORIZED (or the app's own error), TRANSPORT_NOT_ALLOWED, TOO_MANY_SESSIONS.
 */
export type Negotiator = (c: Context, request: NegotiateRequest) => Promise<Negotiated>

/** The negotiator of one app: `offered` are the transports the runtime serves and the options enable. */
export function createNegotiator(
  registry: SessionRegistry,
  authenticate: (c: Context) => Promise<unknown> | null,
  offered: readonly TransportName[],
): Negotiator {
  const o = registry.options
  return async (c, { version, transports: requested }) => {
    if (version !== undefined && version !== PROTOCOL_VERSION) throw new SwitchboardError('PROTOCOL_MISMATCH')
    if (registry.closing) throw registry.shutdownError()
    registry.admit(o.negotiateKey(c))
    // Waited on only when there is something to wait for: each await is a turn and a promise a connect.
    const authenticating = authenticate(c)
    const identity = authenticating === null ? null : await authenticating
    const transports = requested ? requested.filter((t) => offered.includes(t)) : [...offered]
    if (transports.length === 0) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED', 'None of the requested transports is enabled')
    const session = registry.createSession(identity)
    const claimed = registry.claim(session)
    if (claimed) await claimed
    const answer: NegotiateResponse = {
      version: PROTOCOL_VERSION,
      sessionId: session.id,
      resumeToken: session.token,
      transports,
      heartbeatMs: o.heartbeatMs,
      recoveryMs: o.recoveryMs,
      pollTimeoutMs: o.pollTimeoutMs,
      maxMessageBytes: o.maxMessageBytes,
      maxBatchBytes: o.maxBatchBytes,
      maxBatchFrames: o.maxBatchFrames,
      maxPendingRequests: o.maxPendingRequests,
      maxPendingBytes: o.maxPendingBytes,
    }
    const publishKey = registry.router?.publishKey(session)
    if (publishKey !== undefined) answer.publishKey = publishKey
    return { session, answer }
  }
}

/** The body of `POST /negotiate`: empty, or a JSON object with `version` and `transports`. */
export function parseNegotiateBody(text: string): NegotiateRequest {
  if (text.length === 0) return { version: undefined, transports: undefined }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new SwitchboardError('BAD_REQUEST', 'negotiate body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SwitchboardError('BAD_REQUEST', 'negotiate body is not a JSON object')
  const b = body as { version?: unknown; transports?: unknown }
  return { version: b.version, transports: Array.isArray(b.transports) ? transportNames(b.transports) : undefined }
}

/** The WebSocket upgrade's `?negotiate=VERSION&transports=a,b`: the same request, in a query. */
export function negotiateQuery(version: string, transports: string | undefined): NegotiateRequest {
  const v = Number(version)
  return { version: Number.isSafeInteger(v) ? v : version, transports: transports === undefined ? undefined : transportNames(transports.split(',')) }
}

const transportNames = (list: unknown[]): TransportName[] => list.filter((t): t is TransportName => typeof t === 'string')
