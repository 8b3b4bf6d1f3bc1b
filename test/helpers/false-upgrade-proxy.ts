import { createHash } from 'node:crypto'
import http from 'node:http'
import type net from 'node:net'

/**
 * A reverse proxy that lies about WebSocket: ordinary requests (pages, SSE, polls, POSTs) reach
 * the app and stream back unbuffered, but every WebSocket upgrade is answered by the proxy itself
 * with a valid `101 Switching Protocols` and then never passes a frame either way, like a
 * middlebox that accepts the handshake and then drops the stream. The client sees an open socket
 * that never answers.
 */
export interface FalseUpgradeProxy {
  readonly port: number
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  /** Upgrades answered with a 101 and swallowed since start. */
  readonly upgradesSwallowed: number
  /** Bytes the clients sent on swallowed sockets (frames that went nowhere). */
  readonly bytesSwallowed: number
  /** Ordinary requests forwarded to the app since start. */
  readonly requestsForwarded: number
  /** Destroys every open socket (swallowed or forwarded), then stops listening. */
  close(): Promise<void>
}

export interface FalseUpgradeProxyOptions {
  targetPort: number
  targetHost?: string
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
// Per connection, not per message: a proxy must not pass these on (RFC 9110, 7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'])

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value
  return out
}

/**
 * Starts the proxy on 127.0.0.1 port 0. Host is passed through unchanged, so the app's
 * same-origin check sees the address the browser used.
 * @example
 * const proxy = await startFalseUpgradeProxy({ targetPort: server.port })
 * // a page loaded from proxy.url gets a WebSocket that opens and then hears nothing
 */
export async function startFalseUpgradeProxy(options: FalseUpgradeProxyOptions): Promise<FalseUpgradeProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1'
  const sockets = new Set<net.Socket>()
  let upgradesSwallowed = 0
  let bytesSwallowed = 0
  let requestsForwarded = 0

  const server = http.createServer((req, res) => {
    requestsForwarded++
    // One upstream connection per request (no agent), so a cut on either side ends exactly one exchange.
    const upstream = http.request({
      host: targetHost,
      port: options.targetPort,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent: false,
    })
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers))
      res.flushHeaders() // an SSE stream's headers go out before its first event
      answer.pipe(res)
      answer.on('error', () => res.destroy())
    })
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`false-upgrade proxy: ${e.message}`)
      else res.destroy()
    })
    // The browser went away (or was cut): end the app's side of this exchange too.
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })

  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => {}) // a reset from the client is expected
    const key = req.headers['sec-websocket-key']
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    upgradesSwallowed++
    const accept = createHash('sha1')
      .update(key + WEBSOCKET_GUID)
      .digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    // From here on: read and drop everything, answer nothing (not even a close or a pong).
    bytesSwallowed += head.length
    socket.on('data', (chunk: Buffer) => {
      bytesSwallowed += chunk.length
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as net.AddressInfo

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get upgradesSwallowed() {
      return upgradesSwallowed
    },
    get bytesSwallowed() {
      return bytesSwallowed
    },
    get requestsForwarded() {
      return requestsForwarded
    },
    async close() {
      const closed = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
