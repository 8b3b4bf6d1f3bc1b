import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, requireCommand, startDaemon, waitForPort, type Daemon } from './child-process.js'

const run = promisify(execFile)

/** A redis-server the test started on a free loopback port, in a temp directory of its own. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly pid: number
  /** Stops it by PID (SIGTERM), keeping its port and directory for `up()`: an outage. */
  down(): Promise<void>
  /** Starts it again on the same port and directory: its data survives only when `persistent`. */
  up(): Promise<void>
  /** Stops it by PID and removes its directory. */
  stop(): Promise<void>
}

export interface RedisServerOptions {
  /** Append-only file on (fsync always), so a restart keeps every write. Default: no persistence at all. */
  persistent?: boolean
  /** Extra redis-server arguments (`['--cluster-enabled', 'yes']`). */
  args?: readonly string[]
  port?: number
  dir?: string
}

function serverArgs(port: number, dir: string, options: RedisServerOptions): string[] {
  const persistence = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, ...(options.args ?? [])]
}

/** Starts `redis-server` in the foreground, without persistence unless asked, and waits until it accepts connections. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const file = requireCommand('redis-server', 'redis-server')
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-redis-'))
  const port = options.port ?? (await freePort())
  let daemon: Daemon | undefined
  const launch = async () => {
    daemon = await startDaemon(file, serverArgs(port, dir, options))
    const started = daemon
    await waitForPort(port, { child: started.child }).catch(async (e: Error) => {
      await started.stop()
      throw new Error(`${e.message}\n${started.output()}`)
    })
  }
  try {
    await launch()
  } catch (e) {
    if (options.dir === undefined) fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return daemon!.pid
    },
    async down() {
      await daemon?.stop()
    },
    up: launch,
    async stop() {
      await daemon?.stop()
      if (options.dir === undefined) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A Redis Cluster of masters only, each a redis-server the test started. */
export interface RedisCluster {
  /** Where a cluster-aware client starts: every master. */
  readonly nodes: { host: string; port: number }[]
  stop(): Promise<void>
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port + 10_000 > 65_535 || taken.has(port)) continue
    if (await isFree(port + 10_000)) return port
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * Starts `masters` redis-servers with cluster mode on, joins them with `redis-cli --cluster create`
 * (no replicas), and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const cli = requireCommand('redis-cli', 'redis-tools')
  const servers: RedisServer[] = []
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()))
  }
  try {
    const taken = new Set<number>()
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort(taken)
      taken.add(port)
      servers.push(await startRedis({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }))
    }
    await run(cli, ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'])
    for (const s of servers) await waitForClusterOk(cli, s.port)
  } catch (e) {
    await stop()
    throw e
  }
  return { nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), stop }
}

async function waitForClusterOk(cli: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { stdout } = await run(cli, ['-p', String(port), 'cluster', 'info'])
    if (stdout.includes('cluster_state:ok')) return
    if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} is not ok:\n${stdout}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
