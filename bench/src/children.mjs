// Every child process the orchestrator starts is registered here and killed (by its own pid,
// SIGKILL) when the orchestrator exits, is interrupted, or fails.
import { spawn } from 'node:child_process'

const live = new Set()

function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}
process.on('uncaughtException', (e) => {
  console.error(e)
  killAll()
  process.exit(1)
})

/**
 * Starts `node [execArgv] script` with an IPC channel, pinned to `cpu` with taskset when given.
 * stdout is dropped (nothing reports there), stderr is passed through.
 */
export function launch(script, { execArgv = [], env = {}, cpu } = {}) {
  const nodeArgs = [...execArgv, script]
  const [cmd, args] = cpu === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]]
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ...env } })
  live.add(child)
  child.once('exit', () => live.delete(child))
  // A send to a child that just exited fails with EPIPE: the exit is what matters, not the send.
  child.on('error', () => {})
  return child
}

/** Sends over IPC if the channel is still open; a failed send is ignored (the child is gone). */
export function post(child, msg) {
  if (child.connected) child.send(msg, () => {})
}

/** Asks a child to stop (IPC 'stop', so a CPU profile gets written), then kills it after `graceMs`. */
export function stop(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    if (child.connected) child.send({ type: 'stop' }, (err) => err && child.kill('SIGKILL'))
    else child.kill('SIGKILL')
  })
}
