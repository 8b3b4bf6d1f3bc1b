// Connection scale: `sessions` concurrent connections (at most `concurrency` handshakes at a
// time), then an idle window in which only heartbeats flow (every server is set to the same
// heartbeat interval). Reports connect time, memory per session and the server's CPU and bytes.
import { bytesBetween, serverStats, settledStats, slackOf } from '../ipc.mjs'
import { monoUs, now, openMany, sleep } from '../pool.mjs'

const cpuMs = (s) => (s.cpu.user + s.cpu.system) / 1000

export async function scale({ open, params }) {
  const s0 = await serverStats({ gc: true })
  const t0 = now()
  const startUs = monoUs()
  const conns = await openMany(open, params.sessions, params.concurrency)
  const connectMs = now() - t0
  const phase = { startUs, endUs: monoUs() }
  const s1 = await settledStats(params.settleMs, slackOf(s0), params.settleMaxMs)
  const c0 = await serverStats()
  await sleep(params.windowMs)
  const c1 = await serverStats()
  const closed = conns.filter((c) => c.closed).length
  for (const c of conns) c.close()
  const windowS = params.windowMs / 1000
  const n = params.sessions
  return {
    complete: closed === 0,
    note: closed ? `${closed} sessions closed during the idle window` : undefined,
    sessions: n,
    connectAllMs: connectMs,
    connectsPerSec: n / (connectMs / 1000),
    rssPerSessionKiB: (s1.rss - s0.rss) / n / 1024,
    heapPerSessionKiB: (s1.heapUsed - s0.heapUsed) / n / 1024,
    rssMiB: s1.rss / 1048576,
    idleCpuPct: ((cpuMs(c1) - cpuMs(c0)) / params.windowMs) * 100,
    idleBytesPerSessionPerSec: bytesBetween(c0, c1) / n / windowS,
    phase,
  }
}
