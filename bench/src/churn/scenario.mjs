// The churn scenario, run from the driver process: `clients` clients in `workers` client processes
// (worker.mjs, each with its own addresses), subscribed to one broadcast channel; a publisher on a
// line that is never cut sends `rate` messages a second for `durationMs`, `{ i, t }` with t its
// wall-clock time; meanwhile every client's line is cut every `cutEveryMs` and kept down (refusing
// connections) for `offlineMs`. Then cutting stops, and the scenario waits (at most `drainMs`)
// until every client has every message. Figures: delivered, duplicates, replay latency (publish
// to receipt, for messages published while that client's line was down), reconnect wait (line
// restored to the library saying it is connected again), TCP connects and refused ones while cutting.
import { fileURLToPath } from 'node:url'
import { launch, post, stop } from '../children.mjs'
import { sleep } from '../driver/pool.mjs'
import { waitFor } from '../run-one.mjs'
import { quantile } from '../stats.mjs'

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url))
const wall = () => performance.timeOrigin + performance.now()

/** Sends `msg` to every worker and waits for each one's answer of type `answer`. */
function all(workers, msg, answer, ms) {
  return Promise.all(workers.map((w) => (post(w, msg), waitFor(w, answer, ms, `churn ${msg.type}`))))
}

/**
 * @param {{ open: () => Promise<object>, origin: string, target: import('../targets.mjs').Target,
 *   params: { clients: number, workers: number, rate: number, durationMs: number, cutEveryMs: [number, number],
 *   offlineMs: [number, number], drainMs: number } }} job
 */
export async function churn({ open, origin, target, params: p }) {
  const messages = Math.round((p.rate * p.durationMs) / 1000)
  const workers = Array.from({ length: p.workers }, (_, k) => {
    const job = {
      origin,
      client: target.client,
      transport: target.transport,
      count: Math.floor(p.clients / p.workers) + (k < p.clients % p.workers ? 1 : 0),
      // Lines listen on an address of their own per process; their upstream leaves from another.
      host: `127.0.0.${100 + k}`,
      localAddress: `127.0.0.${2 + k}`,
      messages,
      cutEveryMs: p.cutEveryMs,
      offlineMs: p.offlineMs,
      openTimeoutMs: 30_000,
      concurrency: 50,
    }
    return launch(WORKER, { env: { BENCH_CHURN: JSON.stringify(job) } })
  })
  let publisher
  try {
    await Promise.all(workers.map((w) => waitFor(w, 'ready', 20_000, 'churn client process start')))
    const opened = await all(workers, { type: 'open' }, ['opened', 'failed'], 120_000)
    const failed = opened.find((m) => m.type === 'failed')
    if (failed) throw new Error(`a client process could not open its clients: ${failed.error}`)
    publisher = await open()
    let refusedPublishes = 0
    publisher.onError = () => refusedPublishes++

    for (const w of workers) post(w, { type: 'cut' })
    const t0 = performance.now()
    for (let i = 0; i < messages; i++) {
      await sleep(t0 + (i * 1000) / p.rate - performance.now())
      publisher.broadcast({ i, t: wall() })
    }
    await all(workers, { type: 'calm' }, 'calmed', 30_000)

    const drainStart = performance.now()
    let missing = Number.POSITIVE_INFINITY
    while (missing > 0 && performance.now() - drainStart < p.drainMs) {
      const answers = await all(workers, { type: 'missing', published: messages }, 'missing', 10_000)
      missing = answers.reduce((n, a) => n + a.missing, 0)
      if (missing > 0) await sleep(250)
    }
    const reports = await all(workers, { type: 'report' }, 'report', 30_000)
    return figures(reports, { messages, clients: p.clients, drainMs: performance.now() - drainStart, refusedPublishes })
  } finally {
    publisher?.close()
    await Promise.all(workers.map((w) => stop(w)))
  }
}

/** Merges the client processes' reports into the scenario's metrics. */
function figures(reports, { messages, clients, drainMs, refusedPublishes }) {
  const sum = (k) => reports.reduce((n, r) => n + r[k], 0)
  const replay = reports.flatMap((r) => r.replayMs)
  const waits = reports.flatMap((r) => r.waitsMs)
  const cuts = sum('cuts')
  const expected = messages * clients
  const received = sum('received')
  return {
    complete: true,
    deliveredPct: (received / expected) * 100,
    duplicates: sum('duplicates'),
    replayP50Ms: quantile(replay, 0.5),
    replayP99Ms: quantile(replay, 0.99),
    replayMaxMs: replay.length ? replay.reduce((m, v) => Math.max(m, v)) : Number.NaN,
    replayed: replay.length,
    waitP50Ms: quantile(waits, 0.5),
    waitP99Ms: quantile(waits, 0.99),
    cuts,
    notBack: sum('notBack'),
    connects: sum('connects'),
    refused: sum('refused'),
    connectsPerCut: sum('connects') / cuts,
    drainMs,
    refusedPublishes,
    relistenRetries: sum('relistenRetries'),
    clientLagP99Ms: Math.max(...reports.map((r) => r.lagMs.p99)),
  }
}
