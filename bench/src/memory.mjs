// The one way the bench measures a server's memory per session, for every target and for the
// ceiling: server RSS and V8 heap after two full GCs, once settled (below), minus the same two
// figures for the empty server measured the same way, divided by the sessions open. No target
// gets a subtraction the others do not: code, JIT and first-use buffers count for everyone.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** V8 heap committed but not live: what a connect storm leaves behind until V8 shrinks the heap. */
export const slackOf = (s) => s.heapTotal - s.heapUsed

/**
 * @typedef {{ rss: number, heapUsed: number, heapTotal: number }} Memory
 * @typedef {(options: { gc: boolean }) => Promise<Memory>} StatsOf  server stats, after two full GCs with `gc`
 */

/** The empty server: after `minMs` of quiet, two full GCs, then its memory. */
export async function emptyStats(stats, minMs) {
  await sleep(minMs)
  return { ...(await stats({ gc: true })), settledMs: minMs }
}

/**
 * Server memory once a connect storm is over: after `minMs`, polls (with GC) every second until
 * V8 has handed back the heap it grew for the handshakes' garbage, i.e. until the heap slack is
 * within 2 MiB of `baseSlack` (the empty server's), for at most `maxMs`. V8's memory reducer does
 * this some seconds after the process goes idle; no GC call forces it. Measured before, RSS
 * counts that transient slack as per-session cost (2-3x the settled figure for Switchboard).
 * @param {StatsOf} stats
 */
export async function settledStats(stats, minMs, baseSlack, maxMs = 15_000) {
  const start = Date.now()
  await sleep(minMs)
  for (;;) {
    const s = await stats({ gc: true })
    if (slackOf(s) <= baseSlack + 2 * 1048576 || Date.now() - start >= maxMs) return { ...s, settledMs: Date.now() - start }
    await sleep(1000)
  }
}

/** KiB of RSS and heap per session with `n` sessions open (`s`), against the empty server (`empty`). */
export function perSession(s, empty, n) {
  return { rssKiB: (s.rss - empty.rss) / n / 1024, heapKiB: (s.heapUsed - empty.heapUsed) / n / 1024 }
}
