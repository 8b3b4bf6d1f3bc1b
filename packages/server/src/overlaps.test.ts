import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { Overlaps } from './overlaps.js'

const never = new Promise<void>(() => {})

describe('Overlaps', () => {
  it('says a frame is processed at once when no older flight is in flight', () => {
    const o = new Overlaps()
    expect(o.done(3)).toBe(3)
    o.add(4, never)
    expect(o.done(2)).toBe(2)
    expect(o.done(5)).toBe(0)
  })

  it('acks past a flight only once it settled, and up to the oldest flight still in flight', () => {
    const o = new Overlaps()
    o.add(1, never)
    o.add(2, never)
    expect(o.done(3)).toBe(0)
    o.add(4, never)
    expect(o.finish(2)).toBe(0)
    expect(o.finish(1)).toBe(3)
    expect(o.size).toBe(1)
    expect(o.done(5)).toBe(0)
    expect(o.finish(4)).toBe(5)
    expect(o.size).toBe(0)
    expect(o.finish(4)).toBe(0)
  })

  itProp.prop([fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), fc.infiniteStream(fc.nat())])(
    'never acks a seq whose flight or an older one is unsettled, and acks everything in the end',
    (kinds, picks) => {
      // kinds[i]: frame i+1 is a flight (true) or finishes at once (false).
      const o = new Overlaps()
      let acked = 0
      const open: number[] = []
      const settled = new Set<number>()
      const ack = (n: number) => {
        if (n > 0) acked = Math.max(acked, n)
      }
      const check = () => {
        const oldest = Math.min(...open.filter((s) => !settled.has(s)))
        expect(acked).toBeLessThan(oldest)
      }
      const it = picks[Symbol.iterator]()
      kinds.forEach((flight, i) => {
        const seq = i + 1
        if (flight) {
          o.add(seq, never)
          open.push(seq)
        } else ack(o.done(seq))
        check()
        const pending = open.filter((s) => !settled.has(s))
        if (pending.length > 0 && it.next().value % 2 === 0) {
          const s = pending[it.next().value % pending.length]!
          settled.add(s)
          ack(o.finish(s))
          check()
        }
      })
      for (const s of open.filter((x) => !settled.has(x))) {
        settled.add(s)
        ack(o.finish(s))
        check()
      }
      expect(acked).toBe(kinds.length)
    },
  )
})
