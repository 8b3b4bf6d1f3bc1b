import {
  ACK_HEADER,
  ATTACH_PARAM,
  NEGOTIATE_PATH,
  POLL_PATH,
  PROBE_PARAM,
  PROTOCOL_VERSION,
  SEND_PATH,
  SESSION_ID_PARAM,
  SSE_PATH,
  SwitchboardError,
  TOKEN_HEADER,
  WEBSOCKET_PATH,
  type NegotiateResponse,
  type TransportName,
} from '@switchboard/protocol'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { clientGone, errorResponse, limitBody, originAllowed, toSwitchboardError, whenAnswered, whenGone } from './http.js'
import type { WebSocketRoute } from './runtime.js'
import type { SessionRegistry } from './session-registry.js'
import { LongPollTransport, POLL_HEADERS } from './transports/long-polling.js'
import { createSseProbe, SSE_HEADERS, SseTransport } from './transports/sse.js'

function parseAck(value: string | undefined): number {
  const ack = Number(value ?? '0')
  if (!Number.isSafeInteger(ack) || ack < 0) throw new SwitchboardError('BAD_REQUEST', `Bad ${ACK_HEADER} header`)
  return ack
}

/**
 * The endpoints, relative to where the app is mounted (names in the protocol's constants):
 * `POST /negotiate`, `GET /ws`, `GET /sse`, `GET /poll`, `POST /send`.
 * Session ids travel in the query (`?sid=`); tokens only in a header or the WebSocket HELLO frame.
 */
export function createApp(
  registry: SessionRegistry,
  authenticate: (c: Context) => Promise<unknown>,
  webSocketRoute: WebSocketRoute | undefined,
): Hono {
  const o = registry.options
  const app = new Hono()
  // Where the runtime has no WebSocket server, websocket is neither offered nor served.
  const offered = webSocketRoute ? o.transports : o.transports.filter((t) => t !== 'websocket')
  const enabled = (name: TransportName) => offered.includes(name)
  // Every endpoint but negotiate names its session in the query and proves it with the token header.
  const sessionOf = (c: Context) => registry.authorize(c.req.query(SESSION_ID_PARAM), c.req.header(TOKEN_HEADER))
  const endedSessionOf = (c: Context) => registry.endedSession(c.req.query(SESSION_ID_PARAM), c.req.header(TOKEN_HEADER))

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
    if (error.code === 'INTERNAL') o.logger?.({ kind: 'http', message: clientGone(c, e) ? 'client went away mid-request' : 'internal error', data: e })
    return errorResponse(c, error)
  })

  app.use('*', async (c, next) => {
    if (c.req.method !== 'OPTIONS' && c.req.path.endsWith(`/${WEBSOCKET_PATH}`) === false && !originAllowed(c, o.origins))
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
    return c.json(answer, 200, { 'cache-control': 'no-store' })
  })

  /** Refusals are told after the upgrade, as a close code the client can read (an HTTP status it cannot). */
  const refusalFor = (c: Context): SwitchboardError | undefined => {
    if (!enabled('websocket')) return new SwitchboardError('TRANSPORT_NOT_ALLOWED')
    if (!originAllowed(c, o.origins)) return new SwitchboardError('ORIGIN_NOT_ALLOWED')
    if (registry.closing) return new SwitchboardError('SERVER_SHUTDOWN')
    return undefined
  }
  if (webSocketRoute) app.get(`/${WEBSOCKET_PATH}`, webSocketRoute(registry, refusalFor))
  app.get(`/${WEBSOCKET_PATH}`, () => {
    if (!webSocketRoute) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED', 'This server has no WebSocket support')
    throw new SwitchboardError('BAD_REQUEST', 'Expected a WebSocket upgrade')
  })

  app.get(`/${SSE_PATH}`, (c) => {
    if (!enabled('sse')) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED')
    const ended = endedSessionOf(c)
    if (ended) return new Response(`data: ${ended.batchFor(parseAck(c.req.header(ACK_HEADER)))}\n\n`, { headers: SSE_HEADERS })
    const session = sessionOf(c)
    if (c.req.query(PROBE_PARAM) === '1') return new Response(createSseProbe(whenGone(c)), { headers: SSE_HEADERS })
    const transport = new SseTransport(whenGone(c))
    transport.bind(session)
    session.attach(transport, parseAck(c.req.header(ACK_HEADER)), true)
    return new Response(transport.body, { headers: SSE_HEADERS })
  })

  /** A poll of an ended session: a drain waits until an answer that tells the client of the end is written. */
  const answerEndedPoll = (c: Context, sid: string, batch: string): Response => {
    registry.endedPollAnswered(sid, batch, whenAnswered(c))
    return new Response(batch, { headers: POLL_HEADERS })
  }
  app.get(`/${POLL_PATH}`, async (c) => {
    if (!enabled('long-polling')) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED')
    const ended = endedSessionOf(c)
    if (ended) return answerEndedPoll(c, c.req.query(SESSION_ID_PARAM)!, ended.batchFor(parseAck(c.req.header(ACK_HEADER))))
    const session = sessionOf(c)
    const first = c.req.query(ATTACH_PARAM) === '1'
    // The first poll of an attach answers at once (WELCOME), later ones wait for data.
    const transport = new LongPollTransport(first ? 0 : o.pollTimeoutMs, whenGone(c))
    transport.bind(session)
    session.attach(transport, parseAck(c.req.header(ACK_HEADER)), first)
    const batch = await transport.response
    // The session may have ended while this poll was held, and written its CLOSE to it.
    return session.ended ? answerEndedPoll(c, session.id, batch) : new Response(batch, { headers: POLL_HEADERS })
  })

  const sendLimit = limitBody(o.maxBatchBytes, (c) => {
    const error = new SwitchboardError('BATCH_TOO_LARGE', `A batch exceeds ${o.maxBatchBytes} bytes`)
    registry.sessions.get(c.req.query(SESSION_ID_PARAM) ?? '')?.end(error.code, null, error.message)
    throw error
  })
  const proveSession: MiddlewareHandler = async (c, next) => {
    // Frames that arrive after the end are not processed: the answer says which ones were.
    const ended = endedSessionOf(c)
    if (ended) return new Response(ended.ackBatch(), { headers: POLL_HEADERS })
    sessionOf(c)
    await next()
  }
  app.post(`/${SEND_PATH}`, proveSession, sendLimit, async (c) => {
    const session = sessionOf(c)
    const text = await c.req.text()
    const ack = c.req.header(ACK_HEADER)
    if (ack !== undefined) session.acked(parseAck(ack))
    registry.receive(session, text, registry.byteLength(text), true)
    // A Response with plain-object headers: @hono/node-server writes it without building a web
    // Headers object (c.body() builds one per answer: a tenth of the CPU of an SSE round trip).
    return new Response(session.postAnswer(), { headers: POLL_HEADERS })
  })

  return app
}
