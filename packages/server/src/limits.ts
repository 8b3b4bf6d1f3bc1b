/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved. Pure arithmetic on the
 * clock it is given, so it runs anywhere and tests need no timers.
 */
export class TokenBucket {
  readonly ratePerSecond: number
  readonly burst: number
  #tokens: number
  #at: number

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.ratePerSecond = ratePerSecond
    this.burst = burst
    this.#tokens = burst
    this.#at = now
  }

  /** Takes one token: 0 when granted, else how long (ms) until one will be. */
  take(now: number): number {
    this.#refill(now)
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.#tokens) / this.ratePerSecond) * 1000)
  }

  /**
   * Takes one token even when there is none (the bucket goes into debt): 0 when it was there,
   * else how long (ms) until the debt is paid. Pacing with it lets the requests behind a waiting
   * one through at the full rate once it is paid, where waiting for one token at a time would
   * pace at the timer's resolution instead.
   */
  reserve(now: number): number {
    this.#refill(now)
    this.#tokens -= 1
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.ratePerSecond) * 1000)
  }

  /** True when the bucket is full again (nothing to remember about its key). */
  full(now: number): boolean {
    this.#refill(now)
    return this.#tokens >= this.burst
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.ratePerSecond)
      this.#at = now
    }
  }
}

/**
 * Token buckets by key (a client address, an API key, an identity). Past `maxKeys` tracked keys
 * the oldest goes (it starts over with a full bucket), so a flood of distinct keys costs bounded
 * memory and O(1) per request; `prune` forgets the keys whose bucket is full again.
 */
export class RateLimiter {
  readonly ratePerSecond: number
  readonly burst: number
  readonly maxKeys: number
  #buckets = new Map<string, TokenBucket>()

  constructor(ratePerSecond: number, burst: number, maxKeys = 100_000) {
    this.ratePerSecond = ratePerSecond
    this.burst = burst
    this.maxKeys = maxKeys
  }

  /** Takes one token of `key`'s bucket: 0 when granted, else how long (ms) until one will be. */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      if (this.#buckets.size >= this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
      bucket = new TokenBucket(this.ratePerSecond, this.burst, now)
      this.#buckets.set(key, bucket)
    }
    return bucket.take(now)
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Forgets the keys whose bucket is full again (they would start full anyway). */
  prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key)
  }
}

/**
 * Requests of one kind in flight per owner (a session's POSTs, its SSE probes), at most `max`:
 * `enter` refuses past it, `leave` when one is done. Owners with none in flight are not kept.
 */
export class InFlight<Owner extends object> {
  readonly max: number
  #counts = new WeakMap<Owner, number>()

  constructor(max: number) {
    this.max = max
  }

  /** Counts one more for `owner`; false (counting nothing) when it already has `max`. */
  enter(owner: Owner): boolean {
    const n = this.#counts.get(owner) ?? 0
    if (n >= this.max) return false
    this.#counts.set(owner, n + 1)
    return true
  }

  leave(owner: Owner): void {
    const n = this.#counts.get(owner) ?? 0
    if (n <= 1) this.#counts.delete(owner)
    else this.#counts.set(owner, n - 1)
  }
}
