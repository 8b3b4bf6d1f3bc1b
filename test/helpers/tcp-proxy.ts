import net from 'node:net'
import { closeServer, listenOnLoopback } from './sockets.js'

/** A running TCP proxy that a fault test can cut at will. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  readonly port: number
  /** `http://127.0.0.1:PORT`, for clients that want a URL. */
  readonly url: string
  /** Connection pairs open right now. */
  readonly openConnections: number
  /** Client connections accepted since start. */
  readonly totalConnections: number
  /** Destroys every open client+upstream socket pair now and returns how many pairs it cut. */
  cutAll(): number
  /**
   * An outage: `true` cuts every pair and resets each new connection at once (a dead server behind
   * a balancer) until `setDown(false)`.
   */
  setDown(down: boolean): void
  /** Sends new connections to another port from now on (a balancer that moved on to another node); open pairs stay. */
  setTarget(port: number): void
  /** Cuts every pair, then stops listening. */
  close(): Promise<void>
}

export interface TcpProxyOptions {
  targetPort: number
  targetHost?: string
}

interface Pair {
  client: net.Socket
  upstream: net.Socket
}

// resetAndDestroy() sends RST so the peer sees ECONNRESET rather than a polite FIN, like a dropped
// NAT entry or a crashed proxy. It needs a connected TCP handle; before connect it throws, so fall back.
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return
  if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) {
    try {
      socket.resetAndDestroy()
      return
    } catch {
      // handle gone or not TCP: plain destroy below
    }
  }
  socket.destroy()
}

/**
 * Starts a TCP proxy on 127.0.0.1 port 0 that forwards to `targetHost:targetPort`.
 * @example
 * const proxy = await startTcpProxy({ targetPort: server.port })
 * const client = connect(proxy.url)
 * proxy.cutAll() // both sides see a reset
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1'
  let targetPort = options.targetPort
  const pairs = new Set<Pair>()
  let totalConnections = 0
  let down = false

  const server = net.createServer((client) => {
    totalConnections++
    if (down) {
      client.on('error', () => {})
      return resetSocket(client)
    }
    const upstream = net.connect({ port: targetPort, host: targetHost })
    const pair: Pair = { client, upstream }
    pairs.add(pair)

    // A clean end on one side is passed on by pipe() as end() on the other, so tails are not lost.
    // An error (reset, refused upstream) resets the other side too. Errors are expected here, so
    // every socket has a listener and none is unhandled.
    client.on('error', () => resetSocket(upstream))
    upstream.on('error', () => resetSocket(client))
    const forget = () => {
      if (client.destroyed && upstream.destroyed) pairs.delete(pair)
    }
    client.on('close', forget)
    upstream.on('close', forget)

    client.pipe(upstream)
    upstream.pipe(client)
  })

  const port = await listenOnLoopback(server)

  const cutPairs = (): Pair[] => {
    const open = [...pairs]
    pairs.clear()
    for (const { client, upstream } of open) {
      resetSocket(client)
      resetSocket(upstream)
    }
    return open
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get openConnections() {
      return pairs.size
    },
    get totalConnections() {
      return totalConnections
    },
    cutAll: () => cutPairs().length,
    setDown(value) {
      down = value
      if (down) cutPairs()
    },
    setTarget(port) {
      targetPort = port
    },
    close: () =>
      closeServer(
        server,
        cutPairs().flatMap(({ client, upstream }) => [client, upstream]),
      ),
  }
}
