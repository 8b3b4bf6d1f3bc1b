import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.js'

/** The largest `random()` can return: the next double below 1. */
const ALMOST_ONE = 1 - Number.EPSILON / 2

describe('backoffDelay', () => {
  itProp.prop([
    fc.integer({ min: 0, max: 200 }),
    fc.integer({ min: 1, max: 10_000 }),
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
  ])('stays in [0, min(maxMs, baseMs * 2^attempt)) and is a whole number of ms', (attempt, baseMs, maxMs, r) => {
    const delay = backoffDelay(attempt, { baseMs, maxMs }, () => r)
    const bound = Math.min(maxMs, baseMs * 2 ** attempt)
    expect(Number.isInteger(delay)).toBe(true)
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThan(bound)
  })

  it('stays in bounds for many attempts with Math.random', () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const bound = Math.min(15_000, 500 * 2 ** attempt)
      for (let i = 0; i < 20; i++) {
        const delay = backoffDelay(attempt)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThan(bound)
      }
    }
  })

  it('gives 0 for random() = 0, whatever the attempt', () => {
    for (const attempt of [0, 1, 5, 50]) expect(backoffDelay(attempt, {}, () => 0)).toBe(0)
  })

  it('gives just under the bound for random() = 0.999', () => {
    expect(backoffDelay(0, { baseMs: 1_000, maxMs: 60_000 }, () => 0.999)).toBe(999)
    expect(backoffDelay(3, { baseMs: 1_000, maxMs: 60_000 }, () => 0.999)).toBe(7_992)
  })

  it('doubles the bound per attempt until maxMs caps it', () => {
    const top = (attempt: number) => backoffDelay(attempt, { baseMs: 100, maxMs: 1_000 }, () => ALMOST_ONE) + 1
    expect([0, 1, 2, 3, 4, 5, 10, 1_000].map(top)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000])
  })

  it('stays finite for huge attempt numbers', () => {
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { baseMs: 500, maxMs: 15_000 }, () => 0.5)).toBe(7_500)
  })

  it('defaults to baseMs 500 and maxMs 15000', () => {
    expect(backoffDelay(0, {}, () => ALMOST_ONE)).toBe(499)
    expect(backoffDelay(1, undefined, () => ALMOST_ONE)).toBe(999)
    expect(backoffDelay(4, {}, () => ALMOST_ONE)).toBe(7_999)
    expect(backoffDelay(5, {}, () => ALMOST_ONE)).toBe(14_999) // 16,000 capped
    expect(backoffDelay(5, { baseMs: 10 }, () => ALMOST_ONE)).toBe(319) // maxMs still 15,000
    expect(backoffDelay(5, { maxMs: 1_000 }, () => ALMOST_ONE)).toBe(999) // baseMs still 500
  })

  it('spreads delays over the whole range (full jitter)', () => {
    const bound = 10_000
    const delays = Array.from({ length: 1_000 }, () => backoffDelay(10, { baseMs: 100, maxMs: bound }))
    const buckets = new Array<number>(10).fill(0)
    for (const d of delays) buckets[Math.floor(d / (bound / 10))]!++
    expect(Math.min(...delays)).toBeLessThan(bound * 0.05)
    expect(Math.max(...delays)).toBeGreaterThan(bound * 0.95)
    // Each tenth of the range gets some of the 1,000 draws (expected 100; below 40 is ~1e-12 likely).
    for (const count of buckets) expect(count).toBeGreaterThan(40)
    expect(new Set(delays).size).toBeGreaterThan(900)
  })
})
