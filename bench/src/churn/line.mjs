// One client's line to the server: a TCP proxy of its own that the churn scenario cuts. A cut
// resets every open pair and stops listening, so the client's new connections are refused
// (ECONNREFUSED, as from a host whose server is down) until the line is restored on the same port.
import net from 'node:net'

/** RST rather than FIN, as a dropped NAT entry or a crashed proxy does; before connect, a plain destroy. */
function reset(socket) {
  if (socket.destroyed) return
  try {
    if (!socket.connecting) return void socket.resetAndDestroy()
  } catch {
    // not a connected TCP handle: destroy below
  }
  socket.destroy()
}

/**
 * Starts a cuttable line on `host` (port chosen by the system) to `target`, its upstream sockets
 * bound to `localAddress`. `opening(true)` / `opening(false)` bracket the upstream connect, so the
 * process's connection counter can tell it from the client's own.
 * @param {{ host: string, target: { host: string, port: number }, localAddress: string, opening: (on: boolean) => void }} o
 */
export async function openLine({ host, target, localAddress, opening }) {
  const pairs = new Set()
  let server = null
  let port = 0
  /** Listens again after EADDRINUSE (another socket took the port meanwhile): counted, retried. */
  let relistenRetries = 0

  const accept = (client) => {
    opening(true)
    const upstream = net.connect({ host: target.host, port: target.port, localAddress })
    opening(false)
    const pair = { client, upstream }
    pairs.add(pair)
    client.on('error', () => reset(upstream))
    upstream.on('error', () => reset(client))
    const forget = () => client.destroyed && upstream.destroyed && pairs.delete(pair)
    client.on('close', forget)
    upstream.on('close', forget)
    client.pipe(upstream)
    upstream.pipe(client)
  }

  const listen = () =>
    new Promise((resolve, reject) => {
      const s = net.createServer(accept)
      s.once('error', reject)
      s.listen({ host, port }, () => {
        s.off('error', reject)
        server = s
        port = /** @type {net.AddressInfo} */ (s.address()).port
        resolve()
      })
    })

  await listen()
  return {
    url: `http://${host}:${port}`,
    /** Resets every open pair and refuses new connections until restore(). */
    cut() {
      server?.close()
      server = null
      for (const { client, upstream } of pairs) reset(client), reset(upstream)
      pairs.clear()
    },
    /** Listens again on the same port; resolves once it does. */
    async restore() {
      while (!server) {
        try {
          await listen()
        } catch (e) {
          if (e.code !== 'EADDRINUSE') throw e
          relistenRetries++
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    },
    get relistenRetries() {
      return relistenRetries
    },
    close() {
      this.cut()
    },
  }
}
