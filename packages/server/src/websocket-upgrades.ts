import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { Http2SecureServer, Http2Server } from 'node:http2'
import type { Duplex } from 'node:stream'
import type { Hono } from 'hono'
import { WebSocketServer, type PerMessageDeflateOptions, type WebSocket } from 'ws'
import { upgradeRequest } from './upgrade-request.js'

/**
 * Where the upgrade listener puts its accept function in the request's env: the `/ws` route calls
 * it with what to do with the socket, and the listener completes the upgrade after the app has
 * answered. The route falls back to `@hono/node-server`'s helper when it is absent.
 */
export const ACCEPT_WEBSOCKET: unique symbol = Symbol.for('switchboard.acceptWebSocket')

/** `onAbandon`: the upgrade did not complete after all (the handshake was refused, the socket went away). */
export type AcceptWebSocket = (onOpen: (ws: WebSocket) => void, onAbandon: () => void) => void

export interface UpgradeOptions {
  /** Largest WebSocket message accepted (bytes); default 1 MiB, the protocol's maxBatchBytes. */
  maxPayload?: number
  /** permessage-deflate, passed to the `ws` server (see ListenOptions). Default `false`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
}

export interface WebSocketUpgrades {
  /** The `ws` server that completes the handshakes (its `clients` are the open sockets). */
  readonly wss: WebSocketServer
  /** Stops handling upgrades and terminates every open socket. */
  close(): void
}

function ignore(): void {}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
function refuse(socket: Duplex, status: number, headers?: Headers): void {
  if (socket.destroyed) return
  let lines = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n`
  headers?.forEach((value, key) => {
    if (!/^(connection|content-length|transfer-encoding|upgrade)$/i.test(key)) lines += `${key}: ${value}\r\n`
  })
  socket.end(`${lines}\r\n`)
}

/**
 * Handles WebSocket upgrades on a Node server: each request is routed through `app` (its
 * middleware runs: auth, logging), and when the Switchboard `/ws` route accepts it the handshake
 * is completed here with a shared `ws` server. Nothing of the request is kept once the socket is
 * open (no Hono context, no IncomingMessage): an idle WebSocket session costs its socket and its
 * session, and no per-message work is done outside Switchboard's own handler.
 *
 * `listen()` calls this; call it yourself when you create the server with `serve()`.
 */
export function handleUpgrades(server: Server | Http2Server | Http2SecureServer, app: Hono, options: UpgradeOptions = {}): WebSocketUpgrades {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload ?? 1024 * 1024,
    perMessageDeflate: options.perMessageDeflate ?? false,
  })
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void upgrade(app, wss, req, socket, head)
  }
  server.on('upgrade', onUpgrade)
  return {
    wss,
    close() {
      server.off('upgrade', onUpgrade)
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}

async function upgrade(app: Hono, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', ignore)
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return refuse(socket, 400)
  let onOpen: ((ws: WebSocket) => void) | undefined
  let onAbandon = ignore
  const accept: AcceptWebSocket = (open, abandon) => {
    onOpen = open
    onAbandon = abandon
  }
  let response: Response
  try {
    // `incoming` as @hono/node-server sets it, for middleware that reads the Node request (getConnInfo).
    response = await app.fetch(upgradeRequest(req), { incoming: req, outgoing: undefined, [ACCEPT_WEBSOCKET]: accept })
  } catch {
    return refuse(socket, 400)
  }
  const open = onOpen
  if (!open) return refuse(socket, response.status, response.headers)
  if (socket.destroyed) return onAbandon()
  // The 101 answer and the first frames (a WELCOME, sent once the session's negotiation settles,
  // a microtask or two later) leave in one write when they can: one syscall less per connect.
  socket.cork()
  process.nextTick(uncork, socket)
  // Without verifyClient, `ws` completes the handshake before handleUpgrade returns, or answers
  // one it cannot complete (a bad key or version, a socket no longer writable) itself and never
  // calls back. Told so by the callback, not by a 'close' listener held meanwhile: with an app's
  // own close listener on the socket, that one and `ws`'s made three, and a third grows the
  // listener array's store for the socket's life (144 bytes a session, in heap snapshots of
  // 1,000 idle sessions).
  let opened = false
  wss.handleUpgrade(req, socket, head, (ws) => {
    opened = true
    socket.off('error', ignore)
    open(ws)
  })
  if (!opened) onAbandon()
}

function uncork(socket: Duplex): void {
  socket.uncork()
}
