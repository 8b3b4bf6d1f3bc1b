import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { Hono } from 'hono'
import { WebSocketServer, type PerMessageDeflateOptions } from 'ws'

export interface ListenOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default '127.0.0.1'. */
  hostname?: string
  /** Largest WebSocket message accepted (bytes); default 1 MiB, the protocol's maxBatchBytes. */
  maxPayload?: number
  /**
   * WebSocket permessage-deflate (RFC 7692), passed to the `ws` server: `true` for `ws`'s defaults,
   * or its options (`threshold`, `zlibDeflateOptions`, ...). Default `false`: compression costs CPU
   * and memory per socket; measure it with `npm run bench` (deflate scenario) before turning it on.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
}

export interface Listening {
  server: ServerType
  port: number
  /** `http://host:port` */
  url: string
  close(): Promise<void>
}

/**
 * Serves a Hono app on Node with WebSocket support (`@hono/node-server` + a `ws` server).
 * Equivalent to `serve({ fetch: app.fetch, websocket: { server: new WebSocketServer({ noServer: true }) } })`.
 */
export function listen(app: Hono, options: ListenOptions = {}): Promise<Listening> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024, perMessageDeflate: options.perMessageDeflate ?? false })
  const hostname = options.hostname ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname, websocket: { server: wss } }, (info: AddressInfo) => {
      const host = hostname.includes(':') ? `[${hostname}]` : hostname
      resolve({
        server,
        port: info.port,
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients) ws.terminate()
            wss.close()
            server.close(() => done())
            if ('closeAllConnections' in server) server.closeAllConnections()
          }),
      })
    })
    server.once('error', reject)
  })
}
