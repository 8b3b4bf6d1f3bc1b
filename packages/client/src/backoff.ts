export interface BackoffOptions {
  /** The first retry waits a random time below this (ms); later ones at least this. Default 500. */
  baseMs?: number
  /** Largest wait between retries (ms). Default 15000. */
  maxMs?: number
}

/** The defaults, one object for every client that sets none. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({})

/**
 * How much the next wait may grow over the last one: decorrelated jitter's factor. The usual 3
 * reaches maxMs within four retries when it is only 10x baseMs, and then waits up to maxMs after an
 * outage of a dozen baseMs twice as often as full jitter did; 2.5 keeps that as it was.
 */
const GROWTH = 2.5

/**
 * The wait before the next retry, given the wait before the last one (undefined: this is the first
 * retry since a line was lost). The first is quick, uniform in [0, baseMs): a line that merely
 * dropped comes back at once, and a crowd of clients cut together is spread. Each later one is
 * decorrelated jitter, uniform in [baseMs, 2.5 x the last wait (baseMs at least)], at most maxMs: about 1.25x the
 * last on average, so a short outage is retried every second or so and a long one ever more rarely,
 * while the waits of a crowd drift apart instead of moving in step (full jitter's bound doubles
 * per failure, so the wait after a 3 s outage could be 8 s).
 */
export function backoffDelay(lastMs: number | undefined, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500
  const max = options.maxMs ?? 15_000
  if (lastMs === undefined) return Math.floor(random() * Math.min(base, max))
  const top = Math.min(Math.max(lastMs, base), max) * GROWTH
  return Math.min(max, Math.floor(base + random() * (top - base)))
}
