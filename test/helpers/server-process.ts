import { fileURLToPath } from 'node:url'
import type { Switchboard, SwitchboardOptions } from '@switchboard/server'
import { startDaemon, type Daemon } from './child-process.js'
import { startServer } from './fixture.js'

/**
 * The fixture server (startServer) in a process of its own, for tests that must see whether a
 * request can end the process. Started with `node --import tsx`, so it runs the sources.
 */
export interface ServerProcess {
  /** Where Switchboard is mounted: `http://127.0.0.1:PORT/rt`. */
  url: string
  daemon: Daemon
  /** True while the process runs. */
  alive(): boolean
  /** Live sessions and memory after a full GC, from the process itself. */
  stats(): Promise<ProcessStats>
  /** Resets every TCP connection to the server at once (as a proxy that dies would), WebSockets included. */
  cutAll(): Promise<void>
  stop(): Promise<void>
}

type ProcessOptions = Pick<
  SwitchboardOptions,
  'heartbeatMs' | 'recoveryMs' | 'pollTimeoutMs' | 'maxMessageBytes' | 'maxBatchBytes' | 'negotiateRatePerSecond' | 'negotiateBurst'
> & {
  /** A node of a cluster: the Redis adapter on this URL (its node id: `nodeId`). */
  redisUrl?: string
  nodeId?: string
  /** Prints what the server logs, but for lines attached and detached, to its output (see Daemon.output). */
  log?: boolean
}

export interface ProcessStats {
  sessions: number
  heapUsed: number
  rss: number
  /** Negotiates that reached the limit check (taken or refused), and the most in one 100 ms window. */
  negotiates: number
  peakNegotiatesPer100Ms: number
  /** What the node routed (all zero without Redis). */
  routing: Switchboard['routing']
}

/** Starts it on `port` (0: a free one; give the old port to restart in its place). */
export async function startServerProcess(options: ProcessOptions = {}, port = 0): Promise<ServerProcess> {
  const daemon = await startDaemon(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, SWITCHBOARD_SERVER_OPTIONS: JSON.stringify(options), SWITCHBOARD_PORT: String(port) },
  })
  const url = await new Promise<string>((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      const match = /^listening (\S+)$/m.exec(seen)
      if (match) {
        daemon.child.stdout?.off('data', onData)
        resolve(match[1]!)
      }
    }
    daemon.child.stdout?.on('data', onData)
    daemon.child.once('exit', (code, signal) => reject(new Error(`server process exited (${signal ?? code}) before listening:\n${daemon.output()}`)))
  })
  // On a connection of its own that closes after the answer: an idle pooled connection would be
  // reset by a cut, and the next request written to it before the reset is read would fail.
  const control = (path: string, method = 'GET') => fetch(`${url.replace(/\/rt$/, '')}${path}`, { method, headers: { connection: 'close' } })
  return {
    url,
    daemon,
    alive: () => daemon.child.exitCode === null && daemon.child.signalCode === null,
    stats: async () => (await control('/debug/stats')).json() as Promise<ProcessStats>,
    cutAll: async () => void (await control('/debug/cut', 'POST')),
    stop: () => daemon.stop(),
  }
}

// Run as a script: start the server, say where, and close it on SIGTERM.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let negotiates = 0
  let peak = 0
  let window = { at: 0, n: 0 }
  const { redisUrl, nodeId, log, ...options } = JSON.parse(process.env.SWITCHBOARD_SERVER_OPTIONS ?? '{}') as ProcessOptions
  const { createRedisAdapter } = await import('@switchboard/server/redis')
  const server = await startServer(
    {
      ...options,
      ...(redisUrl === undefined ? {} : { adapter: createRedisAdapter({ url: redisUrl }, { nodeId }) }),
      ...(log ? { logger: (e) => e.kind !== 'transport' && console.log(`${Date.now()} ${e.kind} ${e.sessionId ?? '-'} ${e.message}`) } : {}),
      // The default key (the client's address), counting every negotiate that reaches it.
      negotiateKey: (c) => {
        negotiates++
        const at = Math.floor(Date.now() / 100)
        window = window.at === at ? { at, n: window.n + 1 } : { at, n: 1 }
        peak = Math.max(peak, window.n)
        return (c.env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming?.socket?.remoteAddress
      },
    },
    Number(process.env.SWITCHBOARD_PORT ?? 0),
  )
  const sockets = new Set<import('node:net').Socket>()
  server.http.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // Added before the first request: Hono builds its router on the first match.
  server.app.get('/debug/stats', (c) => {
    ;(globalThis as { gc?: () => void }).gc?.()
    const { heapUsed, rss } = process.memoryUsage()
    const routing = server.sb.routing
    return c.json({ sessions: server.sb.sessionCount, heapUsed, rss, negotiates, peakNegotiatesPer100Ms: peak, routing } satisfies ProcessStats)
  })
  server.app.post('/debug/cut', (c) => {
    // After the answer is out: every socket but this request's own goes now, this one just after.
    setTimeout(() => {
      for (const socket of sockets) socket.resetAndDestroy()
    }, 10)
    return c.body(null, 204)
  })
  console.log(`listening ${server.url}`)
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)))
}
