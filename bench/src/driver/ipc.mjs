// Requests from a child to the orchestrator (which relays server questions to the server process).

let nextId = 1
const waiting = new Map()

process.on('message', (msg) => {
  if (msg?.type !== 'reply') return
  const w = waiting.get(msg.id)
  if (!w) return
  waiting.delete(msg.id)
  if (msg.error) w.reject(new Error(msg.error))
  else w.resolve(msg.data)
})

/**
 * The server's memory, CPU and byte counters. `gc: true` collects garbage twice first.
 * @returns {Promise<{ rss: number, heapUsed: number, external: number, arrayBuffers: number,
 *   cpu: { user: number, system: number }, bytes: { read: number, written: number }, sockets: number, sessions: number | null }>}
 */
export function serverStats({ gc = false } = {}) {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id)
      reject(new Error('server stats: no answer within 30 s'))
    }, 30_000)
    waiting.set(id, {
      resolve: (d) => (clearTimeout(timer), resolve(d)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    })
    process.send?.({ type: 'request', id, what: 'stats', gc })
  })
}

/** V8 heap committed but not live: what a connect storm leaves behind until V8 shrinks the heap. */
export const slackOf = (s) => s.heapTotal - s.heapUsed

/**
 * Server memory once the connect storm is over: after `minMs`, polls (with GC) every second until
 * V8 has handed back the heap it grew for the handshakes' garbage, i.e. until the heap slack is
 * within 2 MiB of `baseSlack` (the fresh server's), for at most `maxMs`. V8's memory reducer does
 * this some seconds after the process goes idle; no GC call forces it. Measured before, RSS
 * counts that transient slack as per-connection cost (2-3x the settled figure for Switchboard).
 */
export async function settledStats(minMs, baseSlack, maxMs = 15_000) {
  const start = Date.now()
  await new Promise((resolve) => setTimeout(resolve, minMs))
  for (;;) {
    const s = await serverStats({ gc: true })
    if (slackOf(s) <= baseSlack + 2 * 1048576 || Date.now() - start >= maxMs) return { ...s, settledMs: Date.now() - start }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** Wire bytes (both directions, as the server's sockets count them) between two snapshots. */
export const bytesBetween = (a, b) => b.bytes.read - a.bytes.read + (b.bytes.written - a.bytes.written)
