// The launcher's children: each spawned in a process group of its own (so a Ctrl-C in the
// terminal reaches the launcher only, which then stops them in order), its output prefixed with
// its name, and stopped by its PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

/** A process the launcher started. */
export interface Child {
  /** `node-1`, `redis-server`, `nginx`. */
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess
  /** Where it serves: `http://127.0.0.1:PORT`, `redis://127.0.0.1:PORT`. */
  readonly url: string
  /** Resolves when it has exited. */
  readonly exited: Promise<void>
  /** The last lines it wrote (printed or not). */
  output(): string
  /** True until it exits. */
  running(): boolean
  /** SIGTERM by PID, SIGKILL after `killAfterMs`; resolves once it has exited. */
  stop(killAfterMs?: number): Promise<void>
}

// nginx and redis-server may live in an sbin directory that a non-login shell leaves off PATH.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/** The absolute path of `command`, or a clear error naming the Debian package that has it. */
export function requireCommand(command: string, debianPackage: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...SBIN]) {
    const file = dir && path.join(dir, command)
    if (file && fs.existsSync(file)) return file
  }
  throw new Error(`${command} is not installed: apt-get install -y ${debianPackage}`)
}

/** A free TCP port on 127.0.0.1, for programs that cannot listen on port 0 and say which they got. */
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

/**
 * Starts `file args` as `name`; each line it writes goes to the launcher's output as `[name] line`
 * unless `quiet` (then only `output()` keeps it). Throws when it cannot start at all.
 */
export async function startChild(
  name: string,
  url: string,
  file: string,
  args: readonly string[],
  options: SpawnOptions & { quiet?: boolean } = {},
): Promise<Child> {
  const child = spawn(file, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let kept = ''
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop() ?? ''
      kept = (kept + lines.map((line) => `[${name}] ${line}\n`).join('')).slice(-4_000)
      if (!options.quiet) for (const line of lines) console.log(`[${name}] ${line}`)
    })
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (e) => reject(new Error(`${name} could not start: ${e.message}`)))
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    name,
    pid: child.pid!,
    process: child,
    url,
    exited,
    output: () => kept,
    running,
    async stop(killAfterMs = 5_000) {
      // What it started goes with it (nginx's worker, tsx's esbuild service): a child that stops
      // gets a moment for its group to follow; what a child that died left behind goes at once.
      if (!running()) return waitForGroup(child.pid!, 0)
      process.kill(child.pid!, 'SIGTERM')
      const timer = setTimeout(() => running() && process.kill(child.pid!, 'SIGKILL'), killAfterMs)
      await exited
      clearTimeout(timer)
      await waitForGroup(child.pid!, 2_000)
    },
  }
}

/** True while a process of the group `pid` leads is alive (each child leads a group of its own). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Resolves once the group `pid` leads is empty, SIGKILLing what is left of it after `ms` (an nginx
 * worker whose master was killed keeps serving), then waiting until that is gone too.
 */
async function waitForGroup(pid: number, ms: number): Promise<void> {
  let killed = false
  for (const deadline = Date.now() + ms; groupAlive(pid); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (killed || Date.now() < deadline) continue
    process.kill(-pid, 'SIGKILL')
    killed = true
  }
}

/** How a child ended, in words: `exit code 1`, `signal SIGKILL`. */
export const howItEnded = (child: Child): string =>
  child.process.signalCode ? `signal ${child.process.signalCode}` : `exit code ${child.process.exitCode}`

/** Resolves once `ready()` is true (polled), rejects when `child` exits first or after `timeoutMs`. */
export async function waitUntil(child: Child, ready: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ready().catch(() => false))) {
    if (!child.running()) throw new Error(`${child.name} exited (${howItEnded(child)}) before it was ready`)
    if (Date.now() > deadline) throw new Error(`${child.name} was not ready within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** True when 127.0.0.1:`port` accepts a TCP connection. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => (socket.destroy(), resolve(false)))
  })
}
