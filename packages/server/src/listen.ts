import type { AddressInfo } from 'node:net'
import { createAdaptorServer, type ServerType } from '@hono/node-server'
import type { Hono } from 'hono'
import type { PerMessageDeflateOptions } from 'ws'
import { handleUpgrades } from './websocket-upgrades.js'

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
  /**
   * A client has this long to send a request's headers (ms); past it the connection is answered
   * 408 and closed, so connections that dribble their headers are not held. Default 10000 (Node's
   * own is 60000).
   */
  headersTimeoutMs?: number
  /**
   * ... and this long to send the whole request, body included (ms). Responses are not bounded
   * by it: an SSE stream or a held poll lives on once its request is in. Default 30000 (Node's
   * own is 300000).
   */
  requestTimeoutMs?: number
}

/** How long a slow client may take over its headers, and over its whole request (ms). */
export const HEADERS_TIMEOUT_MS = 10_000
export const REQUEST_TIMEOUT_MS = 30_000

export interface Listening {
  server: ServerType
  port: number
  /** `http://host:port` */
  url: string
  close(): Promise<void>
}

/**
 * Serves a Hono app on Node: `@hono/node-server` for HTTP, and `handleUpgrades()` for the
 * WebSocket transport (a shared `ws` server completes each handshake the app accepts).
 */
export function listen(app: Hono, options: ListenOptions = {}): Promise<Listening> {
  const hostname = options.hostname ?? '127.0.0.1'
  const headersTimeout = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS
  const requestTimeout = Math.max(headersTimeout, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS)
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname,
    serverOptions: {
      headersTimeout,
      requestTimeout,
      // Node looks for overdue requests every 30 s by default: far coarser than these timeouts.
      connectionsCheckingInterval: Math.min(1_000, headersTimeout / 2),
    },
  })
  const upgrades = handleUpgrades(server, app, options)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, hostname, () => {
      const info = server.address() as AddressInfo
      const host = hostname.includes(':') ? `[${hostname}]` : hostname
      resolve({
        server,
        port: info.port,
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            upgrades.close()
            server.close(() => done())
            if ('closeAllConnections' in server) server.closeAllConnections()
          }),
      })
    })
  })
}
