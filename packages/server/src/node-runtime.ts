import { upgradeWebSocket } from '@hono/node-server'
import type { SwitchboardOptions } from './options.js'
import type { Runtime, WebSocketRoute } from './runtime.js'
import { createSwitchboardOn, type Switchboard } from './switchboard.js'
import type { RawWebSocket } from './transports/websocket.js'
import { ACCEPT_WEBSOCKET, type AcceptWebSocket } from './websocket-upgrades.js'

/**
 * `GET /ws` on Node. Under listen() / handleUpgrades() the upgrade listener completes the
 * handshake with a shared `ws` server, and nothing of this request outlives it (an upgrade it
 * cannot complete ends the session it negotiated); under `serve({ websocket })` from
 * @hono/node-server, that package's helper does, and a session negotiated by an upgrade that
 * helper does not complete waits recoveryMs, as one from a POST /negotiate never followed up.
 */
const webSocketRoute: WebSocketRoute = ({ admit, open, abandon }) => {
  const viaNodeServer = upgradeWebSocket((c) => {
    const admission = admit(c)
    return { onOpen: (_event, ws) => open(ws.raw as unknown as RawWebSocket, admission) }
  })
  return async (c, next) => {
    const accept = (c.env as { [ACCEPT_WEBSOCKET]?: AcceptWebSocket } | undefined)?.[ACCEPT_WEBSOCKET]
    if (!accept) return viaNodeServer(c, next)
    const admission = admit(c)
    accept(
      (ws) => open(ws as unknown as RawWebSocket, admission),
      () => abandon(admission),
    )
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
