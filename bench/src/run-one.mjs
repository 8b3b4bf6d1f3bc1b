// One run: a fresh server process for the target, a fresh client process that runs one scenario
// (or, in quick mode, a group of scenarios sharing the same server options, one after the other),
// IPC between them through here (the client asks for server stats), a watchdog over both, and
// both stopped at the end whatever happened.
import { fileURLToPath } from 'node:url'
import { launch, post, stop } from './children.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))

/** The first IPC message of `type` (or one of several) from `child`; rejects when it exits first or after `ms`. */
export function waitFor(child, type, ms, what) {
  const types = [].concat(type)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new Error(`${what}: nothing within ${ms} ms`)), ms)
    const onMessage = (m) => types.includes(m?.type) && done(resolve, m)
    const onExit = (code, signal) => done(reject, new Error(`${what}: process exited (${signal ?? code})`))
    const done = (fn, value) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      fn(value)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/**
 * Runs `scenarios` (all with the same server options) against a fresh server for `target`.
 * @param {{ target: import('./targets.mjs').Target, scenarios: import('./config.mjs').Scenario[],
 *   pin: boolean, switchboard?: { server: string, client: string }, profile?: { dir: string, name: string } }} job
 * @returns {Promise<{ ok: boolean, metrics?: object, error?: string, wallMs: number }[]>} one per scenario
 */
export async function runGroup({ target, scenarios, pin, switchboard, profile }) {
  const snapshot = switchboard ? { BENCH_SWITCHBOARD: JSON.stringify(switchboard) } : {}
  const t0 = performance.now()
  const results = scenarios.map(() => null)
  const prof = (side) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${profile.dir}`, `--cpu-prof-name=${profile.name}-${side}.cpuprofile`] : [])
  const watchdogMs = scenarios.reduce((sum, s) => sum + s.deadlineMs + 10_000, 30_000)
  const server = launch(here(`./servers/${target.server}.mjs`), {
    execArgv: ['--expose-gc', ...prof('server')],
    env: { ...snapshot, BENCH_SERVER: JSON.stringify(scenarios[0].server ?? {}), BENCH_HARD_LIMIT_MS: String(watchdogMs + 30_000) },
    cpu: pin ? 0 : undefined,
  })
  let client
  let failure = 'not run'
  try {
    const { port } = await waitFor(server, 'ready', 20_000, `${target.id} server start`)
    client = launch(here('./driver/main.mjs'), {
      execArgv: prof('client'),
      env: { ...snapshot, BENCH_JOB: JSON.stringify({ origin: `http://127.0.0.1:${port}`, target, scenarios }) },
      cpu: pin ? 1 : undefined,
    })
    // Relay the client's questions to the server, and the answers back; collect results.
    let last = t0
    client.on('message', (m) => {
      if (m?.type === 'request') post(server, m)
      if (m?.type === 'result') {
        const now = performance.now()
        results[m.index] = { ok: m.ok, metrics: m.metrics, error: m.error, wallMs: now - last }
        last = now
      }
    })
    server.on('message', (m) => m?.type === 'reply' && post(client, m))
    await waitFor(client, 'done', watchdogMs, `${target.id} ${scenarios.map((s) => s.id).join(',')}`)
  } catch (e) {
    failure = e.message
  } finally {
    await Promise.all([client && stop(client), stop(server)])
  }
  const wallMs = performance.now() - t0
  return results.map((r) => r ?? { ok: false, error: failure, wallMs: scenarios.length === 1 ? wallMs : 0 })
}
