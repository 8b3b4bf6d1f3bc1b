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
}

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
  const server = createAdaptorServer({ fetch: app.fetch, hostname })
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
