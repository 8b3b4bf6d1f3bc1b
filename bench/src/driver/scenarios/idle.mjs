// Memory per idle connection, as a marginal cost: server memory (after GC, once settled: see
// settledStats) with `warm` connections open, then with `clients` more; the difference divided by
// `clients`. Fixed costs (code, JIT, first-use buffers) land in the warm step.
import { serverStats, settledStats, slackOf } from '../ipc.mjs'
import { openMany } from '../pool.mjs'

export async function idle({ open, params }) {
  const s0 = await serverStats({ gc: true })
  const warm = await openMany(open, params.warm, params.concurrency)
  const s1 = await settledStats(params.settleMs, slackOf(s0), params.settleMaxMs)
  const more = await openMany(open, params.clients, params.concurrency)
  const s2 = await settledStats(params.settleMs, slackOf(s0), params.settleMaxMs)
  const all = warm.concat(more)
  const closed = all.filter((c) => c.closed).length
  const expected = params.warm + params.clients
  const sessionsOk = s2.sessions === null || s2.sessions === expected
  for (const c of all) c.close()
  const per = (k) => (s2[k] - s1[k]) / params.clients
  return {
    complete: closed === 0 && sessionsOk,
    note: closed ? `${closed} connections closed while idle` : sessionsOk ? undefined : `server counts ${s2.sessions} sessions, expected ${expected}`,
    connections: expected,
    rssPerConnKiB: per('rss') / 1024,
    heapPerConnKiB: per('heapUsed') / 1024,
    externalPerConnKiB: per('external') / 1024,
    baseRssMiB: s0.rss / 1048576,
    rssMiB: s2.rss / 1048576,
    serverSockets: s2.sockets,
    settledMs: s2.settledMs,
  }
}
