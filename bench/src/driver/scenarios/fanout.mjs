// Fan-out: `clients` connections receive; the first one also publishes `broadcasts` messages,
// all at once. Each client must get every message once and in order.
import { bytesBetween, serverStats } from '../ipc.mjs'
import { makePool, shapeOf } from '../payload.mjs'
import { monoUs, now, openMany, warmUp } from '../pool.mjs'

function round(conns, payloads, count, base, deadlineMs) {
  const expected = conns.length * count
  return new Promise((resolve) => {
    const seen = new Uint8Array(expected)
    const next = new Int32Array(conns.length)
    let got = 0
    let duplicates = 0
    let corrupt = 0
    let reordered = 0
    const start = now()
    const finish = (complete, note) => {
      clearTimeout(timer)
      for (const c of conns) c.onBroadcast = c.onClose = c.onError = () => {}
      resolve({ complete, note, elapsedMs: now() - start, delivered: got, duplicates, corrupt, reordered })
    }
    const timer = setTimeout(() => finish(false, `deadline: ${got} of ${expected} delivered`), deadlineMs)
    conns.forEach((c, n) => {
      c.onClose = (reason) => finish(false, `a receiver closed after ${got} of ${expected} deliveries: ${reason}`)
      c.onError = (e) => finish(false, `a send failed after ${got} of ${expected} deliveries: ${e?.code ?? ''} ${e?.message ?? e}`)
      c.onBroadcast = (m) => {
        const k = m.i - base
        if (!(k >= 0 && k < count) || shapeOf(m.d) !== payloads.shapeAt(m.i)) return void corrupt++
        const slot = n * count + k
        if (seen[slot]) return void duplicates++
        seen[slot] = 1
        if (k !== next[n]) reordered++
        next[n] = k + 1
        if (++got === expected) finish(true)
      }
    })
    const publisher = conns[0]
    for (let k = 0; k < count; k++) publisher.broadcast({ i: base + k, d: payloads.at(base + k) })
  })
}

export async function fanout({ open, params, deadlineMs }) {
  const conns = await openMany(open, params.clients, 50)
  await Promise.all(conns.map((c) => c.join()))
  const payloads = makePool(params.size)
  // Rounds of `broadcasts` for at least `warmupMs` (see warmUp); the first also proves every
  // receiver is attached before the clock starts.
  const warm = await warmUp((k) => round(conns, payloads, params.broadcasts, k * params.broadcasts, deadlineMs), params.warmupMs)
  const base = warm.rounds * params.broadcasts
  const before = await serverStats()
  const startUs = monoUs()
  const r = await round(conns, payloads, params.broadcasts, base, deadlineMs)
  const phase = { startUs, endUs: monoUs() }
  const after = await serverStats()
  for (const c of conns) c.close()
  const expected = params.clients * params.broadcasts
  const complete = r.complete && r.duplicates === 0 && r.corrupt === 0
  return {
    complete,
    note: r.note ?? (complete ? undefined : `${r.duplicates} duplicates, ${r.corrupt} corrupt`),
    clients: params.clients,
    broadcasts: params.broadcasts,
    delivered: r.delivered,
    expected,
    reordered: r.reordered,
    deliveriesPerSec: r.delivered / (r.elapsedMs / 1000),
    coldDeliveriesPerSec: warm.coldPerSec,
    wireBytesPerDelivery: bytesBetween(before, after) / Math.max(1, r.delivered),
    phase,
  }
}
