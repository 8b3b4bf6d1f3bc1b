// Cross-node round trips, one at a time: a client on node 1 publishes on `xnode:ask`, which a
// client on node 2 hears and answers on `xnode:answer`, which the first hears. Each round trip
// is two publishes and two deliveries, each crossing Redis.
import { quantile } from '../stats.mjs'
import { now } from '../driver/pool.mjs'
import { openConn } from './clients.mjs'
import { costsBetween, readCounters } from './costs.mjs'
import { ANSWER, ASK, messageAt } from './messages.mjs'

export async function roundTrips({ library, origins, redis, params, deadlineMs }) {
  const [asker, answerer] = await Promise.all([openConn(library, origins[0]), openConn(library, origins[1])])
  await Promise.all([asker.subscribe(ANSWER), answerer.subscribe(ASK)])
  answerer.onMessage = (_channel, m) => answerer.publish(ANSWER, m)
  let waiting = null
  asker.onMessage = (_channel, m) => {
    if (!waiting || m.i !== waiting.i) return
    const w = waiting
    waiting = null
    w.resolve()
  }
  for (const c of [asker, answerer]) {
    c.onClose = (reason) => waiting?.reject(new Error(`a client closed: ${reason}`))
    c.onError = (e) => waiting?.reject(new Error(`a publish failed: ${e?.code ?? ''} ${e?.message ?? e}`))
  }
  const once = (i) =>
    new Promise((resolve, reject) => {
      waiting = { i, resolve, reject }
      asker.publish(ASK, messageAt(params.size, i))
    })

  // Warm up: at least `warmup` round trips and `warmupMs`; the first `cold` are timed on their own.
  const warmStart = now()
  let coldMs
  let i = 0
  for (; i < params.warmup || now() - warmStart < params.warmupMs; i++) {
    await once(i)
    if (i + 1 === params.cold) coldMs = now() - warmStart
  }
  const before = await readCounters(redis)
  const samples = []
  const start = now()
  const end = start + Math.min(deadlineMs, params.maxMs)
  while (samples.length < params.count && now() < end) {
    const t0 = now()
    await once(i + samples.length)
    samples.push(now() - t0)
  }
  const elapsedMs = now() - start
  const after = await readCounters(redis)
  asker.close()
  answerer.close()
  const complete = samples.length >= Math.min(params.count, 100)
  return {
    complete,
    note: complete ? undefined : `only ${samples.length} round trips within ${params.maxMs} ms`,
    roundTrips: samples.length,
    roundTripsPerSec: samples.length / (elapsedMs / 1000),
    coldRoundTripsPerSec: params.cold / (coldMs / 1000),
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    // Two publishes per round trip, each heard by one client.
    ...costsBetween(before, after, { publishes: 2 * samples.length, deliveries: 2 * samples.length }),
  }
}
