// `npm run start:cluster` (examples/chat/src/cluster/main.ts) run as the command runs it:
// redis-server, three chat nodes and nginx round robin on free loopback ports. The chat servers
// import the built packages: run `npm run build` first (npm test does).
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { groupAlive } from '../../examples/chat/src/cluster/processes.js'

const LAUNCHER = fileURLToPath(new URL('../../examples/chat/src/cluster/main.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Three chat nodes under tsx, each ready once it reaches Redis: seconds on a busy machine. */
const READY_TIMEOUT_MS = 45_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface ChatCluster {
  readonly process: ChildProcess
  /** nginx's URL, the one the launcher prints first. */
  readonly url: string
  /** Every child the launcher listed: name (`nginx`, `node-1`, `redis-server`) -> { pid, url }. */
  readonly children: ReadonlyMap<string, { pid: number; url: string }>
  /** Everything the launcher wrote so far, stdout and stderr. */
  output(): string
  /** The launcher's exit code, once it has exited. */
  readonly exited: Promise<number | null>
  /** SIGINT to the launcher (it stops its children by PID), then SIGKILL to any group it left. */
  stop(): Promise<void>
}

/** Starts the launcher and resolves once it has printed the cluster's URL and PIDs. */
export async function launchChatCluster(env: NodeJS.ProcessEnv = process.env): Promise<ChatCluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  // 'close' comes after the last of its output, so an error shows what the launcher said.
  let closed = false
  child.once('close', () => (closed = true))
  const children = new Map<string, { pid: number; url: string }>()
  const readChildren = () => {
    for (const [, name, pid, url] of output.matchAll(/^ {2}(\S+)\s+pid (\d+)\s+(\S+)$/gm)) children.set(name!, { pid: Number(pid), url: url! })
  }
  /** Resolves once the launcher printed its last line; rejects at once when it exits first. */
  const ready = async () => {
    for (const deadline = Date.now() + READY_TIMEOUT_MS; !output.includes('Ctrl-C stops them all.'); await sleep(100)) {
      if (closed) throw new Error(`the launcher exited (${child.exitCode}):\n${output}`)
      if (Date.now() > deadline) throw new Error(`the cluster was not up within ${READY_TIMEOUT_MS} ms:\n${output}`)
    }
  }
  const stop = async () => {
    readChildren()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT')
      await exited
    }
    // A launcher that failed half-way still leaves nothing running.
    for (const { pid } of children.values()) if (groupAlive(pid)) process.kill(-pid, 'SIGKILL')
  }
  try {
    await ready()
  } catch (e) {
    await stop()
    throw e
  }
  readChildren()
  const url = /behind nginx \(round robin\) on (\S+)/.exec(output)![1]!
  return { process: child, url, children, output: () => output, exited, stop }
}
