/** How often, at most, a map scans for expired entries while it is in use. */
const SWEEP_EVERY_MS = 1_000

interface Entry<V> {
  value: V
  expiresAt: number
}

/**
 * A map whose entries expire `ttlMs` after they were last set. An expired entry is never
 * returned; it is dropped when read, and the whole map is swept now and then as it is used,
 * so memory follows activity without a timer.
 */
export class ExpiringMap<K, V> {
  #entries = new Map<K, Entry<V>>()
  #nextSweep = 0

  /** Entries, expired ones included until the next sweep. */
  get size(): number {
    return this.#entries.size
  }

  get(key: K, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > now) return entry.value
    this.#entries.delete(key)
    return undefined
  }

  set(key: K, value: V, ttlMs: number, now = Date.now()): void {
    this.sweep(now)
    this.#entries.set(key, { value, expiresAt: now + ttlMs })
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  /** The live entries, in insertion order. */
  *entries(now = Date.now()): IterableIterator<[K, V]> {
    for (const [key, entry] of this.#entries) if (entry.expiresAt > now) yield [key, entry.value]
  }

  /** Drops expired entries, at most once per SWEEP_EVERY_MS. */
  sweep(now = Date.now()): void {
    if (now < this.#nextSweep) return
    this.#nextSweep = now + SWEEP_EVERY_MS
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key)
  }
}
