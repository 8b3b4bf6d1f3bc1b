// Echo bursts: a pipeline of `count` messages with up to `window` in flight, windowed and once
// steady (burst) or all at once from a cold process (flood); every echo is checked (index seen
// once, payload shape intact) and the run is complete only when all came back.
import { bytesBetween, serverStats } from '../ipc.mjs'
import { makePool, messageBytes, shapeOf } from '../payload.mjs'
import { monoUs, now, warmUp } from '../pool.mjs'

/**
 * Sends messages `base .. base+count-1` with at most `window` unanswered; resolves with what came
 * back. With `stallMs`, a pipeline that gets no echo for that long ends there (a stalled line).
 */
export function pipeline(conn, payloads, count, window, base, deadlineMs, stallMs = 0) {
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
      clearInterval(watch)
      conn.onEcho = conn.onClose = conn.onError = () => {}
      resolve({ complete, note, elapsedMs: now() - start, delivered: got, duplicates, corrupt, reordered })
    }
    const timer = setTimeout(() => finish(false, `deadline: ${got} of ${count} echoed`), deadlineMs)
    // Progress is compared once per interval, so the echo path pays nothing for the watch.
    let gotBefore = -1
    const watch = stallMs
      ? setInterval(() => {
          if (got === gotBefore) finish(false, `stalled: no echo for ${stallMs / 1000} s after ${got} of ${count}`)
          gotBefore = got
        }, stallMs)
      : undefined
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

/** One timed pipeline between two readings of the server's byte counters: a burst's metrics. */
async function timedPipeline(conn, payloads, { count, window, base, deadlineMs, stallMs }) {
  const before = await serverStats()
  const startUs = monoUs()
  const r = await pipeline(conn, payloads, count, window, base, deadlineMs, stallMs)
  const phase = { startUs, endUs: monoUs() }
  const after = await serverStats()
  conn.close()
  const complete = r.complete && r.duplicates === 0 && r.corrupt === 0
  const bytes = messageBytes(base, payloads.at(base))
  return {
    complete,
    note: r.note ?? (complete ? undefined : `${r.duplicates} duplicates, ${r.corrupt} corrupt`),
    messages: count,
    messageBytes: bytes,
    window,
    delivered: r.delivered,
    duplicates: r.duplicates,
    corrupt: r.corrupt,
    reordered: r.reordered,
    msgsPerSec: r.delivered / (r.elapsedMs / 1000),
    mibPerSec: (r.delivered * bytes) / (r.elapsedMs / 1000) / 1048576,
    wireBytesPerMsg: bytesBetween(before, after) / Math.max(1, r.delivered),
    phase,
  }
}

/** Windowed, once steady: timed after warm-up bursts; the first of them is reported as cold. */
export async function burst({ open, params, deadlineMs }) {
  const conn = await open()
  const payloads = makePool(params.size)
  // Pipelines of `warmup` messages for at least `warmupMs` (see warmUp).
  const warm = await warmUp((k) => pipeline(conn, payloads, params.warmup, params.window, k * params.warmup, deadlineMs), params.warmupMs)
  const timed = await timedPipeline(conn, payloads, { count: params.count, window: params.window, base: warm.rounds * params.warmup, deadlineMs })
  return { ...timed, coldMsgsPerSec: warm.coldPerSec }
}

/**
 * Fired the way an app fires a burst: `count` sends in a plain loop, nothing awaited and no
 * window, then a wait for every answer; the first load of a new process pair (no warm-up), so it
 * pays the cold start a real burst pays. A request the library refuses (a rejected call) or loses
 * (the deadline) fails the run with its error.
 */
export async function flood({ open, params, deadlineMs }) {
  const payloads = makePool(params.size)
  const conn = await open()
  // A window as wide as the burst: the pipeline's first fill() is the plain loop of every send.
  return timedPipeline(conn, payloads, { count: params.count, window: params.count, base: 0, deadlineMs, stallMs: params.stallMs })
}
