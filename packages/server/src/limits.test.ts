import { describe, expect, it } from 'vitest'
import { InFlight, RateLimiter, TokenBucket } from './limits.js'

describe('TokenBucket', () => {
  it('grants a burst at once, then one token per 1/rate seconds, and says how long to wait', () => {
    const b = new TokenBucket(10, 3, 0)
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0])
    expect(b.take(0)).toBe(100)
    expect(b.take(40)).toBe(60)
    expect(b.take(100)).toBe(0)
    expect(b.take(100)).toBe(100)
  })

  it('saves at most the burst, however long it was idle', () => {
    const b = new TokenBucket(10, 2, 0)
    b.take(0)
    b.take(0)
    expect(b.full(1_000_000)).toBe(true)
    expect([b.take(1_000_000), b.take(1_000_000), b.take(1_000_000)]).toEqual([0, 0, 100])
  })

  it('ignores a clock that goes back', () => {
    const b = new TokenBucket(1, 1, 1_000)
    b.take(1_000)
    expect(b.take(500)).toBe(1_000)
  })
})

describe('TokenBucket.reserve', () => {
  it('grants the burst, then goes into debt and says when it is paid; the refill pays it first', () => {
    const b = new TokenBucket(1_000, 2, 0)
    expect([b.reserve(0), b.reserve(0)]).toEqual([0, 0])
    expect([b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([1, 2, 3])
    // 3 ms later the 3 tokens owed are paid: the next is granted at once, the one after waits.
    expect([b.reserve(4), b.reserve(4)]).toEqual([0, 1])
    expect(b.take(4)).toBe(2)
  })
})

describe('RateLimiter', () => {
  it('keeps one bucket per key', () => {
    const r = new RateLimiter(1, 2)
    expect([r.take('a', 0), r.take('a', 0), r.take('a', 0)]).toEqual([0, 0, 1_000])
    expect(r.take('b', 0)).toBe(0)
    expect(r.size).toBe(2)
  })

  it('forgets full buckets on prune, and never tracks more than maxKeys', () => {
    const r = new RateLimiter(1, 1, 3)
    for (const key of ['a', 'b', 'c', 'd']) r.take(key, 0)
    expect(r.size).toBe(3)
    // 'a' was the oldest: it starts over with a full bucket.
    expect(r.take('a', 0)).toBe(0)
    r.prune(500)
    expect(r.size).toBe(3)
    r.prune(1_000)
    expect(r.size).toBe(0)
  })
})

describe('InFlight', () => {
  it('counts per owner up to max, and frees a place on leave', () => {
    const posts = new InFlight<object>(2)
    const a = {}
    const b = {}
    expect([posts.enter(a), posts.enter(a), posts.enter(a)]).toEqual([true, true, false])
    expect(posts.enter(b)).toBe(true)
    posts.leave(a)
    expect(posts.enter(a)).toBe(true)
    posts.leave(a)
    posts.leave(a)
    posts.leave(a) // one too many: harmless
    expect([posts.enter(a), posts.enter(a), posts.enter(a)]).toEqual([true, true, false])
  })
})
