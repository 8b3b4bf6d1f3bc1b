import { utf8Length } from '@switchboard/protocol'
import type { Context, MiddlewareHandler } from 'hono'
import type { RawWebSocket, WebSocketAdmission } from './transports/websocket.js'

/**
 * Serves `GET /ws`: `admit` reads the request (nothing of it outlives the upgrade), and once the
 * upgrade completes `open` hands the socket to a WebSocket transport. An admitted upgrade that
 * does not complete (the handshake refused after the app answered, the socket gone) is told to
 * `abandon`, which ends the session it negotiated, if any, at once rather than after recoveryMs.
 */
export type WebSocketRoute = (handler: {
  admit(c: Context): WebSocketAdmission
  open(ws: RawWebSocket, admission: WebSocketAdmission): void
  abandon(admission: WebSocketAdmission): void
}) => MiddlewareHandler

/**
 * What the core takes from the runtime it runs on. The core itself uses web standards only
 * (Request, Response, streams, Web Crypto), so the same code serves Node and runtimes without Node's APIs.
 */
export interface Runtime {
  /** UTF-8 size of a string: every POST body is measured, so Node passes its native Buffer.byteLength. */
  byteLength: (s: string) => number
  /** The WebSocket endpoint. Without one, websocket is not offered and `GET /ws` answers TRANSPORT_NOT_ALLOWED. */
  webSocketRoute?: WebSocketRoute
}

/** Web standards only: SSE and long polling, with UTF-8 measured in JS. */
export const WEB_RUNTIME: Runtime = { byteLength: utf8Length }
