// Cross-node fan-out: `clients` connections spread evenly over the nodes (connection k on node
// k % nodes) all subscribe to one channel, and `broadcasts` messages are published at once on
// node 1: by the first client (it is on node 1) or, with `publisher: 'server'`, by node 1's
// server-side publish (asked through the orchestrator). Every client must get every message
// exactly once; each delivery is timed from its publish, so latencies include a burst's queue.
import { quantile } from '../stats.mjs'
import { makePool, shapeOf } from '../driver/payload.mjs'
import { now, openMany, warmUp } from '../driver/pool.mjs'
import { openConn } from './clients.mjs'
import { ask } from '../children.mjs'
import { costsBetween, readCounters } from './costs.mjs'
import { ageMs, FANOUT, messageAt } from './messages.mjs'

/**
 * One burst of `count` messages numbered from `base`, sent by `publish(base, count)`; resolves
 * with what arrived (never rejects).
 */
function burst(conns, publish, payloads, count, base, deadlineMs) {
  const expected = conns.length * count
  const seen = new Uint8Array(expected)
  const latencies = new Float64Array(expected)
  let got = 0
  let duplicates = 0
  let corrupt = 0
  return new Promise((resolve) => {
    const start = now()
    const end = (complete, note) => {
      clearTimeout(timer)
      for (const c of conns) c.onMessage = c.onClose = c.onError = () => {}
      resolve({ complete, note, elapsedMs: now() - start, delivered: got, duplicates, corrupt, latencies: latencies.subarray(0, got) })
    }
    const timer = setTimeout(() => end(false, `deadline: ${got} of ${expected} delivered`), deadlineMs)
    for (const [n, c] of conns.entries()) {
      c.onClose = (reason) => end(false, `a client closed after ${got} of ${expected} deliveries: ${reason}`)
      c.onError = (e) => end(false, `a publish failed after ${got} of ${expected} deliveries: ${e?.code ?? ''} ${e?.message ?? e}`)
      c.onMessage = (_channel, m) => {
        const k = m.i - base
        if (!(k >= 0 && k < count) || shapeOf(m.d) !== payloads.shapeAt(m.i)) return void corrupt++
        if (seen[n * count + k]) return void duplicates++
        seen[n * count + k] = 1
        latencies[got] = ageMs(m)
        if (++got === expected) end(duplicates === 0 && corrupt === 0, `${duplicates} duplicates, ${corrupt} corrupt`)
      }
    }
    publish(base, count).catch((e) => end(false, `the publisher failed: ${e.message}`))
  })
}

export async function fanout({ library, origins, redis, params, deadlineMs }) {
  let next = 0
  const conns = await openMany(() => openConn(library, origins[next++ % origins.length]), params.clients, 50)
  await Promise.all(conns.map((c) => c.subscribe(FANOUT)))
  const payloads = makePool(params.size)
  const publish =
    params.publisher === 'server'
      ? // The orchestrator relays the request to node 1 (this process is a child: `ask` works upwards too).
        (base, count) => ask(process, 'publish', { channel: FANOUT, size: params.size, base, count })
      : async (base, count) => {
          for (let i = base; i < base + count; i++) conns[0].publish(FANOUT, messageAt(params.size, i))
        }
  const round = (base) => burst(conns, publish, payloads, params.broadcasts, base, deadlineMs)
  // Rounds until warm (see warmUp); the first proves every subscriber hears every node, and its
  // rate, from processes that just started, is reported as the cold one.
  const warm = await warmUp((k) => round(k * params.broadcasts), params.warmupMs)
  const before = await readCounters(redis)
  const r = await round(warm.rounds * params.broadcasts)
  const after = await readCounters(redis)
  for (const c of conns) c.close()
  return {
    complete: r.complete,
    note: r.complete ? undefined : r.note,
    clients: params.clients,
    broadcasts: params.broadcasts,
    delivered: r.delivered,
    deliveriesPerSec: r.delivered / (r.elapsedMs / 1000),
    coldDeliveriesPerSec: warm.coldPerSec,
    p50Ms: quantile(r.latencies, 0.5),
    p99Ms: quantile(r.latencies, 0.99),
    ...costsBetween(before, after, { publishes: params.broadcasts, deliveries: r.delivered }),
  }
}
