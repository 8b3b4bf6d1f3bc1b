// The one redis-server of a cross-node run: started on a free loopback port in a temp directory
// (no persistence), stopped by its PID at the end, on a signal or on an error.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { sleep } from '../driver/pool.mjs'

/** A free TCP port on 127.0.0.1 (redis-server cannot listen on port 0 and report it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once 127.0.0.1:`port` answers PING, rejects after `ms` or when `child` has exited. */
async function waitForPing(port, child, ms) {
  const end = performance.now() + ms
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.signalCode ?? child.exitCode})`)
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {}) // refused until it listens: the loop retries
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      // not up yet
    } finally {
      client.disconnect()
    }
    if (performance.now() > end) throw new Error(`redis-server did not answer on port ${port} within ${ms} ms`)
    await sleep(20)
  }
}

/**
 * Starts `redis-server` (Debian package redis-server) in the foreground, pinned to `cpu` when given.
 * @returns {Promise<{ url: string, port: number, pid: number, flush(): Promise<void>, stop(): Promise<void> }>}
 */
export async function startRedis({ cpu } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  const [cmd, argv] = cpu === undefined ? ['redis-server', args] : ['taskset', ['-c', String(cpu), 'redis-server', ...args]]
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'] })
  // taskset execs redis-server in place, so this PID is the server's.
  const kill = () => child.exitCode === null && child.signalCode === null && process.kill(child.pid, 'SIGTERM')
  process.once('exit', kill)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    process.off('exit', kill)
    kill()
    await exited
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await new Promise((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (e) => reject(new Error(`redis-server could not start (${e.message}): apt-get install -y redis-server`)))
    })
    await waitForPing(port, child, 10_000)
  } catch (e) {
    await stop()
    throw e
  }
  const admin = new Redis({ port, host: '127.0.0.1' })
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    /** Empties it between runs, so every run starts from the same empty Redis. */
    flush: async () => void (await admin.flushall()),
    stop: async () => {
      admin.disconnect()
      await stop()
    },
  }
}
