// The part every bench server shares: it counts TCP bytes on every socket of the HTTP server,
// answers the orchestrator's questions over IPC (memory after GC, CPU, bytes) and stops itself
// when asked, when the orchestrator goes away, or after a hard time limit.

/** @typedef {{ deflate?: boolean, heartbeatMs?: number, maxPayload?: number, port?: number, countNegotiates?: boolean, requestRatePerSecond?: number }} ServerOptions */

/** The options this server was started with (BENCH_SERVER env, JSON). */
export function serverOptions() {
  return /** @type {ServerOptions} */ (JSON.parse(process.env.BENCH_SERVER ?? '{}'))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Tracks bytes on every TCP connection of `server` and announces readiness to the parent.
 * @param {import('node:http').Server} server listening on 127.0.0.1
 * @param {{ sessions?: () => number, requests?: Record<string, (msg: object) => unknown> }} [info]
 *   live sessions as the library counts them; answers to requests other than `stats`
 */
export function ready(server, info = {}) {
  const open = new Set()
  let closedRead = 0
  let closedWritten = 0
  server.on('connection', (socket) => {
    open.add(socket)
    socket.once('close', () => {
      closedRead += socket.bytesRead
      closedWritten += socket.bytesWritten
      open.delete(socket)
    })
  })

  const bytes = () => {
    let read = closedRead
    let written = closedWritten
    for (const s of open) {
      read += s.bytesRead
      written += s.bytesWritten
    }
    return { read, written }
  }

  const stats = async (gc) => {
    if (gc && globalThis.gc) {
      // Two full collections, with a turn in between for finalizers and weak callbacks.
      globalThis.gc()
      await sleep(20)
      globalThis.gc()
    }
    const m = process.memoryUsage()
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cpu: process.cpuUsage(),
      bytes: bytes(),
      sockets: open.size,
      sessions: info.sessions?.() ?? null,
      gc: Boolean(gc && globalThis.gc),
    }
  }

  process.on('message', async (msg) => {
    if (msg?.type === 'stop') return stop()
    if (msg?.type !== 'request') return
    try {
      const answer = msg.what === 'stats' ? () => stats(msg.gc) : info.requests?.[msg.what]
      if (!answer) throw new Error(`unknown request ${msg.what}`)
      process.send?.({ type: 'reply', id: msg.id, data: await answer(msg) })
    } catch (e) {
      process.send?.({ type: 'reply', id: msg.id, error: String(e) })
    }
  })

  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  process.send?.({ type: 'ready', port: address.port })
}

/** Exits normally (so --cpu-prof writes its profile), closing nothing gracefully: the run is over. */
function stop() {
  process.exit(0)
}

// Never outlive the orchestrator, never run longer than the hard limit it set.
process.on('disconnect', stop)
const limit = Number(process.env.BENCH_HARD_LIMIT_MS ?? 600_000)
setTimeout(() => {
  console.error(`[bench server] hard time limit (${limit} ms) reached, exiting`)
  process.exit(3)
}, limit).unref()
