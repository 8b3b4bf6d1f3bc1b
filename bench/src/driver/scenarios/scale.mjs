// Connection scale: `sessions` concurrent connections (at most `concurrency` handshakes at a
// time), then an idle window in which only heartbeats flow (every server is set to the same
// heartbeat interval). Reports connect time and the server's CPU and bytes while idle; memory per
// session is the idle scenario's (measured there the same way for every target).
import { emptyStats, settledStats, slackOf } from '../../memory.mjs'
import { bytesBetween, serverStats } from '../ipc.mjs'
import { monoUs, now, openMany, sleep } from '../pool.mjs'

const cpuMs = (s) => (s.cpu.user + s.cpu.system) / 1000

export async function scale({ open, params }) {
  const empty = await emptyStats(serverStats, 0)
  const before = await serverStats()
  const clientBefore = process.cpuUsage()
  const t0 = now()
  const startUs = monoUs()
  const conns = await openMany(open, params.sessions, params.concurrency)
  const connectMs = now() - t0
  const phase = { startUs, endUs: monoUs() }
  // CPU each side spent connecting: the wall-clock time is bound by the busier process.
  const clientCpuMs = cpuMs({ cpu: process.cpuUsage(clientBefore) })
  const serverCpuMs = cpuMs(await serverStats()) - cpuMs(before)
  // The connect storm's garbage is collected before the window, so the window sees heartbeats.
  const s1 = await settledStats(serverStats, params.settleMs, slackOf(empty), params.settleMaxMs)
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
    serverCpuMsPer1k: (serverCpuMs / n) * 1000,
    clientCpuMsPer1k: (clientCpuMs / n) * 1000,
    rssMiB: s1.rss / 1048576,
    idleCpuPct: ((cpuMs(c1) - cpuMs(c0)) / params.windowMs) * 100,
    idleBytesPerSessionPerSec: bytesBetween(c0, c1) / n / windowS,
    phase,
  }
}
