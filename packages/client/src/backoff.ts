export interface BackoffOptions {
  /** First delay bound (ms). Default 500. */
  baseMs?: number
  /** Largest delay (ms). Default 15000. */
  maxMs?: number
}

/**
 * Exponential backoff with full jitter: attempt n waits a uniform random time in
 * [0, min(maxMs, baseMs * 2^n)], which spreads a crowd of reconnecting clients.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500
  const max = options.maxMs ?? 15_000
  const bound = Math.min(max, base * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * bound)
}
