import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.js'

/** The largest `random()` can return: the next double below 1. */
const ALMOST_ONE = 1 - Number.EPSILON / 2

/** The waits of `count` retries in a row, each drawn with `random`. */
function chain(count: number, options: { baseMs?: number; maxMs?: number }, random: () => number = Math.random): number[] {
  const waits: number[] = []
  let last: number | undefined
  for (let i = 0; i < count; i++) waits.push((last = backoffDelay(last, options, random)))
  return waits
}

describe('backoffDelay', () => {
  itProp.prop([fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: ALMOST_ONE, noNaN: true })])(
    'makes the first retry a whole number of ms in [0, min(baseMs, maxMs))',
    (baseMs, maxMs, r) => {
      const delay = backoffDelay(undefined, { baseMs, maxMs }, () => r)
      expect(Number.isInteger(delay)).toBe(true)
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(Math.min(baseMs, maxMs))
    },
  )

  itProp.prop([
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.integer({ min: 1, max: 10_000 }),
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
  ])('makes a later retry a whole number of ms in [baseMs, 2.5 x max(the last wait, baseMs)], never above maxMs', (lastMs, baseMs, maxMs, r) => {
    const delay = backoffDelay(lastMs, { baseMs, maxMs }, () => r)
    expect(Number.isInteger(delay)).toBe(true)
    expect(delay).toBeLessThanOrEqual(maxMs)
    expect(delay).toBeGreaterThanOrEqual(Math.min(baseMs, maxMs))
    expect(delay).toBeLessThanOrEqual(2.5 * Math.max(baseMs, lastMs))
  })

  it('waits 0 first and baseMs after with random() = 0: the quickest a client ever retries', () => {
    expect(chain(6, {}, () => 0)).toEqual([0, 500, 500, 500, 500, 500])
  })

  it('grows by 2.5x per retry at most, up to maxMs', () => {
    expect(chain(8, {}, () => 0.999)).toEqual([499, 1_249, 3_119, 7_790, 15_000, 15_000, 15_000, 15_000])
    expect(chain(5, { baseMs: 100, maxMs: 1_000 }, () => 0.999)).toEqual([99, 249, 621, 1_000, 1_000])
  })

  it('grows about 1.25x per retry on average: a few waits of about a second first, then longer', () => {
    const runs = Array.from({ length: 2_000 }, () => chain(12, {}))
    const meanAt = (k: number) => runs.reduce((sum, waits) => sum + waits[k]!, 0) / runs.length
    // Expected: 250, 880, 1,340, 1,930, 2,650, ..., then about 7,000 (maxMs caps the draws above 15,000).
    expect(meanAt(0)).toBeLessThan(400)
    expect(meanAt(1)).toBeGreaterThan(700)
    expect(meanAt(1)).toBeLessThan(1_100)
    for (let k = 2; k < 6; k++) expect(meanAt(k)).toBeGreaterThan(meanAt(k - 1) * 1.2)
    expect(meanAt(11)).toBeGreaterThan(5_000)
  })

  it('stays finite and capped for huge last waits', () => {
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { baseMs: 500, maxMs: 15_000 }, () => 0.5)).toBe(15_000)
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { baseMs: 500, maxMs: 15_000 }, () => 0)).toBe(500)
  })

  it('defaults to baseMs 500 and maxMs 15000, each on its own', () => {
    expect(backoffDelay(undefined, {}, () => ALMOST_ONE)).toBe(499)
    expect(backoffDelay(undefined, undefined, () => ALMOST_ONE)).toBe(499)
    expect(backoffDelay(10_000, {}, () => ALMOST_ONE)).toBe(15_000)
    expect(backoffDelay(1_000, { baseMs: 10 }, () => 0.999)).toBe(2_497) // maxMs still 15,000
    expect(backoffDelay(10_000, { maxMs: 1_000 }, () => 0)).toBe(500) // baseMs still 500
  })

  it('spreads first retries over the whole range (full jitter)', () => {
    const delays = Array.from({ length: 1_000 }, () => backoffDelay(undefined, { baseMs: 10_000 }))
    const buckets = new Array<number>(10).fill(0)
    for (const d of delays) buckets[Math.floor(d / 1_000)]!++
    // Each tenth of the range gets some of the 1,000 draws (expected 100; below 40 is ~1e-12 likely).
    for (const count of buckets) expect(count).toBeGreaterThan(40)
    expect(new Set(delays).size).toBeGreaterThan(900)
  })

  it('spreads later retries of clients that failed in step (decorrelated jitter)', () => {
    const fifth = Array.from({ length: 1_000 }, () => chain(5, {})[4]!)
    expect(Math.min(...fifth)).toBeLessThan(1_500)
    expect(Math.max(...fifth)).toBeGreaterThan(6_000)
    expect(new Set(fifth).size).toBeGreaterThan(800)
  })
})
