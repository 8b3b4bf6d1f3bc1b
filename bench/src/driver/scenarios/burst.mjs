// Pipelined echo: up to `window` messages in flight, `count` in all; every echo is checked
// (index seen once, payload shape intact) and the run is complete only when all came back.
import { bytesBetween, serverStats } from '../ipc.mjs'
import { makePool, messageBytes, shapeOf } from '../payload.mjs'
import { monoUs, now, warmUp } from '../pool.mjs'

/** Sends messages `base .. base+count-1` with at most `window` unanswered; resolves with what came back. */
export function pipeline(conn, payloads, count, window, base, deadlineMs) {
  return new Promise((resolve) => {
    const seen = new Uint8Array(count)
    let sent = 0
    let got = 0
    let duplicates = 0
    let corrupt = 0
    let reordered = 0
    let last = -1
    const start = now()
    const finish = (complete, note) => {
      clearTimeout(timer)
      conn.onEcho = conn.onClose = conn.onError = () => {}
      resolve({ complete, note, elapsedMs: now() - start, delivered: got, duplicates, corrupt, reordered })
    }
    const timer = setTimeout(() => finish(false, `deadline: ${got} of ${count} echoed`), deadlineMs)
    conn.onClose = (reason) => finish(false, `connection closed after ${got} of ${count} echoes: ${reason}`)
    conn.onError = (e) => finish(false, `send failed after ${got} of ${count} echoes: ${e?.code ?? ''} ${e?.message ?? e}`)
    const fill = () => {
      while (sent < count && sent - got < window) {
        const i = base + sent++
        conn.echo({ i, d: payloads.at(i) })
      }
    }
    conn.onEcho = (m) => {
      const k = m.i - base
      if (!(k >= 0 && k < count) || shapeOf(m.d) !== payloads.shapeAt(m.i)) {
        corrupt++
        return
      }
      if (seen[k]) {
        duplicates++
        return
      }
      seen[k] = 1
      got++
      if (k < last) reordered++
      else last = k
      if (got === count) return finish(true)
      fill()
    }
    fill()
  })
}

export async function burst({ open, params, deadlineMs }) {
  const conn = await open()
  const payloads = makePool(params.size)
  // Pipelines of `warmup` messages for at least `warmupMs` (see warmUp).
  const warm = await warmUp((k) => pipeline(conn, payloads, params.warmup, params.window, k * params.warmup, deadlineMs), params.warmupMs)
  const base = warm.rounds * params.warmup
  const before = await serverStats()
  const startUs = monoUs()
  const r = await pipeline(conn, payloads, params.count, params.window, base, deadlineMs)
  const phase = { startUs, endUs: monoUs() }
  const after = await serverStats()
  conn.close()
  const complete = r.complete && r.duplicates === 0 && r.corrupt === 0
  const bytes = messageBytes(base, payloads.at(base))
  return {
    complete,
    note: r.note ?? (complete ? undefined : `${r.duplicates} duplicates, ${r.corrupt} corrupt`),
    messages: params.count,
    messageBytes: bytes,
    window: params.window,
    delivered: r.delivered,
    duplicates: r.duplicates,
    corrupt: r.corrupt,
    reordered: r.reordered,
    msgsPerSec: r.delivered / (r.elapsedMs / 1000),
    coldMsgsPerSec: warm.coldPerSec,
    mibPerSec: (r.delivered * bytes) / (r.elapsedMs / 1000) / 1048576,
    wireBytesPerMsg: bytesBetween(before, after) / Math.max(1, r.delivered),
    phase,
  }
}
