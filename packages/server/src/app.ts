import { ACK_HEADER, NEGOTIATE_PATH, SwitchboardError, TOKEN_HEADER, WEBSOCKET_PATH, type TransportName } from '@switchboard/protocol'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { hopsOf } from './cluster/forwarded-http.js'
import { createNegotiator, parseNegotiateBody } from './negotiate.js'
import { answeringErrors, limitBody, originAllowed } from './http.js'
import type { Runtime } from './runtime.js'
import type { SessionRegistry } from './session-registry.js'
import { registerHttpUpstream } from './transports/http-upstream.js'
import { TRANSPORTS } from './transports/index.js'

/** The WebSocket route's path under the mount (its origin is checked as the upgrade is admitted). */
const WEBSOCKET_SUFFIX = `/${WEBSOCKET_PATH}`

/**
 * The endpoints, relative to where the app is mounted (names in the protocol's constants):
 * `POST /negotiate`, `GET /ws` (which may negotiate too), `GET /sse`, `GET /poll`, `POST /send`.
 * Session ids travel in the query (`?sid=`); tokens only in a header or the WebSocket HELLO frame.
 */
export function createApp(registry: SessionRegistry, authenticate: (c: Context) => Promise<unknown> | null, runtime: Runtime): Hono {
  const o = registry.options
  const app = new Hono()
  // A transport the runtime cannot serve (WebSocket without a WebSocket server) is not offered.
  const offered = o.transports.filter((name) => TRANSPORTS[name].available(runtime))
  const enabled = (name: TransportName) => offered.includes(name)
  // What any handler here throws is answered as the protocol's error (see answeringErrors).
  const guard = (handler: MiddlewareHandler) => answeringErrors(o.logger, handler)

  if (o.origins !== undefined) {
    // '*' means any site: never with credentials, or any site could negotiate with a user's cookies.
    const anySite = o.origins === '*'
    app.use(
      '*',
      guard(
        cors({
          origin: anySite ? '*' : (origin, c) => (originAllowed(c, o.origins) ? origin : null),
          allowMethods: ['GET', 'POST', 'OPTIONS'],
          allowHeaders: ['content-type', 'authorization', TOKEN_HEADER, ACK_HEADER],
          credentials: !anySite,
          maxAge: 600,
        }),
      ),
    )
  }

  app.use(
    '*',
    guard((c, next) => {
      // A request another node forwarded was checked there, with the client's connection at hand.
      if (c.req.method !== 'OPTIONS' && !c.req.path.endsWith(WEBSOCKET_SUFFIX) && hopsOf(c) === 0 && !originAllowed(c, o.origins))
        throw new SwitchboardError('ORIGIN_NOT_ALLOWED')
      return next()
    }),
  )

  const negotiateLimit = limitBody(4096, () => {
    throw new SwitchboardError('BAD_REQUEST', 'The negotiate body is too large')
  })
  const negotiate = createNegotiator(registry, authenticate, offered)
  app.post(
    `/${NEGOTIATE_PATH}`,
    guard(negotiateLimit),
    guard(async (c) => {
      const { answer } = await negotiate(c, parseNegotiateBody(await c.req.text()))
      return c.json(answer, 200, { 'cache-control': 'no-store' })
    }),
  )

  for (const transport of Object.values(TRANSPORTS)) transport.register(app, registry, enabled(transport.name), runtime, negotiate)
  registerHttpUpstream(app, registry)

  return app
}
