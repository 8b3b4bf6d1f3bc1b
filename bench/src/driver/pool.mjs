// Opening many connections with bounded concurrency (the same for every target), and timing.

export const now = () => performance.now()
/** CLOCK_MONOTONIC in microseconds: the clock of V8 CPU profiles, shared by all processes. */
export const monoUs = () => Number(process.hrtime.bigint() / 1000n)
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Opens `count` connections, at most `concurrency` handshakes at a time. Rejects on the first
 * failure (after closing what was opened), so a target that cannot hold the load says so.
 */
export async function openMany(open, count, concurrency) {
  const conns = []
  let next = 0
  let failure = null
  const worker = async () => {
    while (next < count && !failure) {
      next++
      try {
        conns.push(await open())
      } catch (e) {
        failure ??= e
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (failure) {
    for (const c of conns) c.close()
    throw new Error(`opened ${conns.length} of ${count}: ${failure.message ?? failure}`)
  }
  return conns
}

/** Resolves when `check()` is true (polled), or rejects after `ms` with `what`. */
export async function until(check, ms, what) {
  const end = now() + ms
  while (!check()) {
    if (now() > end) throw new Error(`timed out after ${ms} ms: ${what}`)
    await sleep(5)
  }
}

/**
 * Warms a pipeline up until it is steady: runs `round(k)` (k = 0, 1, ...; it resolves with
 * `{ complete, note, delivered, elapsedMs }`) at least once and until `minMs` has passed. A new
 * process pair runs its first seconds of load at about half speed whatever the library (V8
 * optimizing on the pinned core), so bursts and fan-out are timed after this. Returns how many
 * rounds ran and the rate of the first: the cost of a cold start, reported beside.
 */
export async function warmUp(round, minMs) {
  const start = now()
  let rounds = 0
  let coldPerSec
  do {
    const r = await round(rounds++)
    if (!r.complete) throw new Error(`warm-up failed: ${r.note}`)
    coldPerSec ??= r.delivered / (r.elapsedMs / 1000)
  } while (now() - start < minMs)
  return { rounds, coldPerSec }
}
