import {
  ACK_HEADER,
  NEGOTIATE_PATH,
  PROTOCOL_VERSION,
  SwitchboardError,
  TOKEN_HEADER,
  WEBSOCKET_PATH,
  type NegotiateResponse,
  type TransportName,
} from '@switchboard/protocol'
import { Hono, type Context } from 'hono'
import { cors } from 'hono/cors'
import { hopsOf } from './cluster/forwarded-http.js'
import { clientGone, errorResponse, limitBody, originAllowed, toSwitchboardError } from './http.js'
import type { Runtime } from './runtime.js'
import type { SessionRegistry } from './session-registry.js'
import { registerHttpUpstream } from './transports/http-upstream.js'
import { TRANSPORTS } from './transports/index.js'

/**
 * The endpoints, relative to where the app is mounted (names in the protocol's constants):
 * `POST /negotiate`, `GET /ws`, `GET /sse`, `GET /poll`, `POST /send`.
 * Session ids travel in the query (`?sid=`); tokens only in a header or the WebSocket HELLO frame.
 */
export function createApp(registry: SessionRegistry, authenticate: (c: Context) => Promise<unknown>, runtime: Runtime): Hono {
  const o = registry.options
  const app = new Hono()
  // A transport the runtime cannot serve (WebSocket without a WebSocket server) is not offered.
  const offered = o.transports.filter((name) => TRANSPORTS[name].available(runtime))
  const enabled = (name: TransportName) => offered.includes(name)

  if (o.origins !== undefined) {
    // '*' means any site: never with credentials, or any site could negotiate with a user's cookies.
    const anySite = o.origins === '*'
    app.use(
      '*',
      cors({
        origin: anySite ? '*' : (origin, c) => (originAllowed(c, o.origins) ? origin : null),
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['content-type', 'authorization', TOKEN_HEADER, ACK_HEADER],
        credentials: !anySite,
        maxAge: 600,
      }),
    )
  }

  app.onError((e, c) => {
    const error = toSwitchboardError(e, 'INTERNAL')
    if (error.code === 'INTERNAL')
      o.logger?.({ kind: 'http', message: clientGone(c, e) ? 'client went away mid-request' : 'internal error', data: e })
    return errorResponse(c, error)
  })

  app.use('*', async (c, next) => {
    // A request another node forwarded was checked there, with the client's connection at hand.
    if (c.req.method !== 'OPTIONS' && !c.req.path.endsWith(`/${WEBSOCKET_PATH}`) && hopsOf(c) === 0 && !originAllowed(c, o.origins))
      throw new SwitchboardError('ORIGIN_NOT_ALLOWED')
    await next()
  })

  const negotiateLimit = limitBody(4096, () => {
    throw new SwitchboardError('BAD_REQUEST', 'The negotiate body is too large')
  })
  app.post(`/${NEGOTIATE_PATH}`, negotiateLimit, async (c) => {
    let requested: TransportName[] | undefined
    const text = await c.req.text()
    if (text.length > 0) {
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new SwitchboardError('BAD_REQUEST', 'negotiate body is not JSON')
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new SwitchboardError('BAD_REQUEST', 'negotiate body is not a JSON object')
      const b = body as { version?: unknown; transports?: unknown }
      if (b.version !== undefined && b.version !== PROTOCOL_VERSION) throw new SwitchboardError('PROTOCOL_MISMATCH')
      if (Array.isArray(b.transports)) requested = b.transports.filter((t): t is TransportName => typeof t === 'string')
    }
    if (registry.closing) throw registry.shutdownError()
    registry.admit(o.negotiateKey(c))
    const identity = await authenticate(c)
    const transports = requested ? requested.filter((t) => enabled(t)) : [...offered]
    if (transports.length === 0) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED', 'None of the requested transports is enabled')
    const session = registry.createSession(identity)
    await registry.claim(session)
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
    }
    const publishKey = registry.router?.publishKey(session)
    if (publishKey !== undefined) answer.publishKey = publishKey
    return c.json(answer, 200, { 'cache-control': 'no-store' })
  })

  for (const transport of Object.values(TRANSPORTS)) transport.register(app, registry, enabled(transport.name), runtime)
  registerHttpUpstream(app, registry)

  return app
}
