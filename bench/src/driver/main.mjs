// The client process of one run: runs its scenarios (one, or a quick-mode group) against the
// target's server in order, reports `{ type: 'result', index, ok, metrics | error }` for each and
// `{ type: 'done' }` at the end, then exits. It exits by itself when a scenario overruns its
// deadline, and when the orchestrator goes away.
import { churn } from '../churn/scenario.mjs'
import { burst, flood } from './scenarios/burst.mjs'
import { fanout } from './scenarios/fanout.mjs'
import { idle } from './scenarios/idle.mjs'
import { latency } from './scenarios/latency.mjs'
import { scale } from './scenarios/scale.mjs'

const SCENARIOS = { latency, burst, flood, fanout, idle, scale, churn }

/** @type {{ origin: string, target: import('../targets.mjs').Target, scenarios: import('../config.mjs').Scenario[] }} */
const job = JSON.parse(process.env.BENCH_JOB ?? 'null')
process.on('disconnect', () => process.exit(0))
process.on('message', (m) => m?.type === 'stop' && process.exit(0))

const report = (msg) => new Promise((resolve) => (process.send ? process.send(msg, () => resolve()) : resolve(console.log(JSON.stringify(msg)))))

/** Runs one scenario; past its deadline (plus a grace) the whole process reports and exits. */
async function runScenario(adapter, scenario, index) {
  const open = () => adapter.open(job.origin, { transport: job.target.transport, timeoutMs: 15_000 })
  const run = SCENARIOS[scenario.kind]
  if (!run) throw new Error(`unknown scenario kind ${scenario.kind}`)
  const killer = setTimeout(async () => {
    await report({ type: 'result', index, ok: false, error: `deadline: no result within ${scenario.deadlineMs} ms` })
    await report({ type: 'done' })
    process.exit(2)
  }, scenario.deadlineMs + 5_000)
  try {
    const metrics = await run({ open, origin: job.origin, params: scenario.params, deadlineMs: scenario.deadlineMs, target: job.target })
    const ok = metrics.complete !== false
    await report({ type: 'result', index, ok, metrics, error: ok ? undefined : metrics.note })
  } catch (e) {
    await report({
      type: 'result',
      index,
      ok: false,
      error: String(e?.stack ?? e)
        .split('\n')
        .slice(0, 3)
        .join(' | '),
    })
  } finally {
    clearTimeout(killer)
  }
}

async function main() {
  const adapter = await import(`../clients/${job.target.client}.mjs`)
  for (const [index, scenario] of job.scenarios.entries()) await runScenario(adapter, scenario, index)
  await report({ type: 'done' })
}

main().then(
  () => process.exit(0),
  async (e) => {
    console.error(e)
    await report({ type: 'done' })
    process.exit(1)
  },
)
