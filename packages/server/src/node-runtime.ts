import { upgradeWebSocket } from '@hono/node-server'
import { SESSION_ID_PARAM } from '@switchboard/protocol'
import type { SwitchboardOptions } from './options.js'
import type { Runtime, WebSocketRoute } from './runtime.js'
import { createSwitchboardOn, type Switchboard } from './switchboard.js'
import { WebSocketTransport, type RawWebSocket } from './transports/websocket.js'
import { ACCEPT_WEBSOCKET, type AcceptWebSocket } from './websocket-upgrades.js'

/**
 * `GET /ws` on Node. Under listen() / handleUpgrades() the upgrade listener completes the
 * handshake with a shared `ws` server, and nothing of this request outlives it; under
 * `serve({ websocket })` from @hono/node-server, that package's helper does.
 */
const webSocketRoute: WebSocketRoute = (registry, refusalFor) => {
  const viaNodeServer = upgradeWebSocket((c) => {
    const sid = c.req.query(SESSION_ID_PARAM)
    const refusal = refusalFor(c)
    return {
      onOpen: (_event, ws) => {
        new WebSocketTransport(ws.raw as unknown as RawWebSocket, registry, sid, refusal)
      },
    }
  })
  return async (c, next) => {
    const accept = (c.env as { [ACCEPT_WEBSOCKET]?: AcceptWebSocket } | undefined)?.[ACCEPT_WEBSOCKET]
    if (!accept) return viaNodeServer(c, next)
    const sid = c.req.query(SESSION_ID_PARAM)
    const refusal = refusalFor(c)
    accept((ws) => new WebSocketTransport(ws as unknown as RawWebSocket, registry, sid, refusal))
    return c.body(null, 200)
  }
}

/** Node: WebSocket through `ws`, UTF-8 measured natively. */
const NODE_RUNTIME: Runtime = { byteLength: Buffer.byteLength, webSocketRoute }

/**
 * Creates a Switchboard server that serves every transport, WebSocket included (see
 * index.ts's createSwitchboard for the runtime-neutral one).
 * @example
 * const sb = createSwitchboard()
 * sb.channel('room:*')
 * app.route('/rt', sb.app)
 * await listen(app, { port: 3000 })
 */
export function createSwitchboard<Identity = null>(options: SwitchboardOptions<Identity> = {}): Switchboard<Identity> {
  return createSwitchboardOn(NODE_RUNTIME, options)
}
