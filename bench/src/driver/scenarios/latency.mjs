// Sequential echo: one message in flight at a time, so every round trip is timed on its own.
import { quantile } from '../../stats.mjs'
import { bytesBetween, serverStats } from '../ipc.mjs'
import { makePool } from '../payload.mjs'
import { monoUs, now } from '../pool.mjs'

export async function latency({ open, params, deadlineMs }) {
  const conn = await open()
  const payloads = makePool(params.size)
  let waiting = null
  conn.onEcho = (m) => {
    if (!waiting || m.i !== waiting.i) return
    const w = waiting
    waiting = null
    w.resolve()
  }
  conn.onClose = (reason) => waiting?.reject(new Error(`connection closed: ${reason}`))
  conn.onError = (e) => waiting?.reject(new Error(`send failed: ${e?.code ?? ''} ${e?.message ?? e}`))
  const once = (i) =>
    new Promise((resolve, reject) => {
      waiting = { i, resolve, reject }
      conn.echo({ i, d: payloads.at(i) })
    })

  // Warm-up until the round trip is steady. A new process pair is slow for its first few thousand
  // round trips, whatever the library (V8 compiles and optimizes on the same pinned core): over
  // raw ws, ~3% of the first 3,000 take over 0.5 ms (p99 ~2.4 ms), ~0.2% after, and an idle pause
  // once warm does not bring it back. At least `warmup` round trips and `warmupMs`, at most
  // `warmupMaxMs`. The first `cold` are timed on their own: the cost of a new process.
  const warmStart = now()
  const warmEnd = warmStart + params.warmupMaxMs
  let coldMs
  let i = 0
  for (; (i < params.warmup || now() - warmStart < params.warmupMs) && now() < warmEnd; i++) {
    await once(i)
    if (i + 1 === params.cold) coldMs = now() - warmStart
  }
  // A warm-up cut short by warmupMaxMs times what it did.
  const coldRoundTrips = Math.min(i, params.cold)
  coldMs ??= now() - warmStart
  const before = await serverStats()
  // Slow transports stop at maxMs: their round trips are few but each is timed the same way.
  const samples = []
  const end = now() + Math.min(deadlineMs, params.maxMs)
  const start = now()
  const startUs = monoUs()
  while (samples.length < params.count && now() < end) {
    const t0 = now()
    await once(i + samples.length)
    samples.push(now() - t0)
  }
  const elapsedMs = now() - start
  const phase = { startUs, endUs: monoUs() }
  const after = await serverStats()
  conn.close()
  const n = samples.length
  const enough = Math.min(params.count, 100)
  return {
    complete: n >= enough,
    note: n >= enough ? undefined : `only ${n} round trips within ${params.maxMs} ms`,
    roundTrips: n,
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    roundTripsPerSec: n / (elapsedMs / 1000),
    coldRoundTripsPerSec: coldRoundTrips / (coldMs / 1000),
    wireBytesPerRoundTrip: bytesBetween(before, after) / n,
    phase,
  }
}
