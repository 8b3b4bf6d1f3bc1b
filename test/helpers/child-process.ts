import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

// nginx and squid live in /usr/sbin, which a non-login shell or a CI image may leave off PATH.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/** The absolute path of `command` on PATH or in the sbin directories, or undefined. */
export function findCommand(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...SBIN]
  for (const dir of dirs) {
    if (!dir) continue
    const file = path.join(dir, command)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return undefined
}

/** Like findCommand, but throws with the Debian package to install. */
export function requireCommand(command: string, debianPackage: string): string {
  const file = findCommand(command)
  if (!file) throw new Error(`${command} is missing: apt-get install -y ${debianPackage} (npm test installs it when run as root)`)
  return file
}

/** A free TCP port on 127.0.0.1 (for programs that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects after `timeoutMs` or if `child` exits first. */
export function waitForPort(port: number, { child, timeoutMs = 10_000 }: { child?: ChildProcess; timeoutMs?: number } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (error?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(deadline)
      child?.off('exit', onExit)
      if (error) reject(error)
      else resolve()
    }
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`${child?.spawnfile} exited (${signal ?? code}) before listening on port ${port}`))
    child?.once('exit', onExit)
    const deadline = setTimeout(() => finish(new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`)), timeoutMs)
    const probe = () => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        finish()
      })
      socket.once('error', () => {
        socket.destroy()
        if (!done) timer = setTimeout(probe, 25)
      })
    }
    probe()
  })
}

/** A child process the test started and stops by its PID. */
export interface Daemon {
  readonly pid: number
  readonly child: ChildProcess
  /** What it wrote to stderr (and stdout), for error messages. */
  output(): string
  /** SIGTERM to its PID, then SIGKILL after `killAfterMs`; resolves when it has exited. */
  stop(killAfterMs?: number): Promise<void>
}

/** Spawns `file` with `args`, collecting its output; throws if it cannot start. */
export async function startDaemon(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<Daemon> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  return {
    pid: child.pid!,
    child,
    output: () => output,
    async stop(killAfterMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      process.kill(child.pid!, 'SIGTERM')
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
      }, killAfterMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** A file's text, or '' when it does not exist (yet). */
export function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}
