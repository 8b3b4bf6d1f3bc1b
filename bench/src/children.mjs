// Every child process the orchestrator starts is registered here and killed (by its own pid,
// SIGKILL) when the orchestrator exits, is interrupted, or fails.
import { spawn, spawnSync } from 'node:child_process'
import os from 'node:os'

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

/** True when there are two cores and `taskset` works: the server goes to CPU 0, clients to CPU 1. */
export const canPin = () => os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0

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

let asked = 0

/**
 * Asks a bench server (servers/harness.mjs) `what` over IPC, `extra` merged into the request;
 * resolves with its answer, rejects with its error or after `ms`.
 */
export function ask(child, what, extra = {}, ms = 30_000) {
  const id = `ask-${++asked}`
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${ms} ms`)), ms)
    const onMessage = (m) => m?.type === 'reply' && m.id === id && done(m.error ? new Error(m.error) : null, m.data)
    const done = (error, data) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      if (error) reject(error)
      else resolve(data)
    }
    child.on('message', onMessage)
    post(child, { type: 'request', id, what, ...extra })
  })
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
