// The client process of one cross-node run: opens its connections to the nodes, runs one
// scenario, reads Redis's command counters around the measured phase itself, and reports
// `{ type: 'result', ok, metrics | error }` to the orchestrator, then exits. It exits by itself
// past the scenario's deadline and when the orchestrator goes away.
import { Redis } from 'ioredis'
import { fanout } from './fanout.mjs'
import { roundTrips } from './round-trips.mjs'

const SCENARIOS = { fanout, roundTrips }

/** @type {{ library: string, origins: string[], redisUrl: string, scenario: { kind: string, params: object, deadlineMs: number } }} */
const job = JSON.parse(process.env.BENCH_JOB ?? 'null')
process.on('disconnect', () => process.exit(0))
process.on('message', (m) => m?.type === 'stop' && process.exit(0))

const report = (msg) => new Promise((resolve) => (process.send ? process.send(msg, () => resolve()) : resolve(console.log(JSON.stringify(msg)))))
const firstLines = (e) =>
  String(e?.stack ?? e)
    .split('\n')
    .slice(0, 3)
    .join(' | ')

async function main() {
  const { kind, params, deadlineMs } = job.scenario
  setTimeout(async () => {
    await report({ type: 'result', ok: false, error: `deadline: no result within ${deadlineMs} ms` })
    process.exit(2)
  }, deadlineMs + 5_000).unref()
  const redis = new Redis(job.redisUrl)
  try {
    const metrics = await SCENARIOS[kind]({ library: job.library, origins: job.origins, redis, params, deadlineMs })
    await report({ type: 'result', ok: metrics.complete, metrics, error: metrics.note })
  } catch (e) {
    await report({ type: 'result', ok: false, error: firstLines(e) })
  } finally {
    redis.disconnect()
  }
}

main().then(
  () => process.exit(0),
  async (e) => {
    await report({ type: 'result', ok: false, error: firstLines(e) })
    process.exit(1)
  },
)
