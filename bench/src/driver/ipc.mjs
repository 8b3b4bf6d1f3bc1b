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

/** Wire bytes (both directions, as the server's sockets count them) between two snapshots. */
export const bytesBetween = (a, b) => b.bytes.read - a.bytes.read + (b.bytes.written - a.bytes.written)
