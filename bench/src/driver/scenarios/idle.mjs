// Memory per idle session at two sizes (`few` = 1,000, then `many` = 10,000 in a full run): the
// server's RSS and heap with `few` sessions open, then with `many`, each minus the empty server's
// and divided by the sessions open (see ../../memory.mjs: the same method for every target).
import { emptyStats, perSession, settledStats, slackOf } from '../../memory.mjs'
import { serverStats } from '../ipc.mjs'
import { openMany } from '../pool.mjs'

export async function idle({ open, params }) {
  const empty = await emptyStats(serverStats, params.settleMs)
  const conns = []
  const at = []
  for (const n of [params.few, params.many]) {
    conns.push(...(await openMany(open, n - conns.length, params.concurrency)))
    const s = await settledStats(serverStats, params.settleMs, slackOf(empty), params.settleMaxMs)
    const closed = conns.filter((c) => c.closed).length
    const note = closed
      ? `${closed} of ${n} sessions closed while idle`
      : s.sessions !== null && s.sessions !== n
        ? `the server counts ${s.sessions} sessions, expected ${n}`
        : undefined
    if (note) {
      for (const c of conns) c.close()
      return { complete: false, note }
    }
    at.push({ ...perSession(s, empty, n), rssMiB: s.rss / 1048576, settledMs: s.settledMs })
  }
  for (const c of conns) c.close()
  const [few, many] = at
  return {
    complete: true,
    few: params.few,
    many: params.many,
    rssKiBPerSession1k: few.rssKiB,
    heapKiBPerSession1k: few.heapKiB,
    rssKiBPerSession10k: many.rssKiB,
    heapKiBPerSession10k: many.heapKiB,
    emptyRssMiB: empty.rss / 1048576,
    emptyHeapMiB: empty.heapUsed / 1048576,
    rssMiB: many.rssMiB,
    settledMs: Math.max(few.settledMs, many.settledMs),
  }
}
