import { fileURLToPath } from 'node:url'
import type { SwitchboardOptions } from '@switchboard/server'
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
  stop(): Promise<void>
}

type ProcessOptions = Pick<SwitchboardOptions, 'heartbeatMs' | 'recoveryMs' | 'pollTimeoutMs' | 'maxMessageBytes' | 'maxBatchBytes'>

export interface ProcessStats {
  sessions: number
  heapUsed: number
  rss: number
}

export async function startServerProcess(options: ProcessOptions = {}): Promise<ServerProcess> {
  const daemon = await startDaemon(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, SWITCHBOARD_SERVER_OPTIONS: JSON.stringify(options) },
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
  return {
    url,
    daemon,
    alive: () => daemon.child.exitCode === null && daemon.child.signalCode === null,
    stats: async () => (await fetch(`${url.replace(/\/rt$/, '')}/debug/stats`)).json() as Promise<ProcessStats>,
    stop: () => daemon.stop(),
  }
}

// Run as a script: start the server, say where, and close it on SIGTERM.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startServer(JSON.parse(process.env.SWITCHBOARD_SERVER_OPTIONS ?? '{}') as ProcessOptions)
  // Added before the first request: Hono builds its router on the first match.
  server.app.get('/debug/stats', (c) => {
    ;(globalThis as { gc?: () => void }).gc?.()
    const { heapUsed, rss } = process.memoryUsage()
    return c.json({ sessions: server.sb.sessionCount, heapUsed, rss } satisfies ProcessStats)
  })
  console.log(`listening ${server.url}`)
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)))
}
