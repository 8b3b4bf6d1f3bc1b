import { describe, expect, it } from 'vitest'
import { PendingRequests } from './pending.js'

describe('PendingRequests', () => {
  it('takes requests in any order, each once', () => {
    const p = new PendingRequests<string>()
    for (let seq = 1; seq <= 5; seq++) p.add(seq, `r${seq}`)
    expect(p.size).toBe(5)
    expect(p.take(3)).toBe('r3')
    expect(p.take(3)).toBeUndefined()
    expect(p.take(1)).toBe('r1')
    expect(p.entries()).toEqual([
      [2, 'r2'],
      [4, 'r4'],
      [5, 'r5'],
    ])
    expect(p.take(5)).toBe('r5')
    expect(p.take(2)).toBe('r2')
    expect(p.take(4)).toBe('r4')
    expect(p.size).toBe(0)
    expect(p.entries()).toEqual([])
  })

  it('answers undefined for seqs never added, settled, or out of range', () => {
    const p = new PendingRequests<number>()
    expect(p.take(1)).toBeUndefined()
    p.add(10, 10)
    expect(p.take(9)).toBeUndefined()
    expect(p.take(11)).toBeUndefined()
    expect(p.take(-1)).toBeUndefined()
    expect(p.take(10)).toBe(10)
    expect(p.take(10)).toBeUndefined()
  })

  it('refuses a seq that is not after the last one added', () => {
    const p = new PendingRequests<number>()
    p.add(5, 5)
    expect(() => p.add(5, 5)).toThrow(RangeError)
    expect(() => p.add(4, 4)).toThrow(RangeError)
    expect(p.size).toBe(1)
  })

  it('keeps seqs after a gap and starts over from any seq once empty', () => {
    const p = new PendingRequests<number>()
    p.add(1, 1)
    p.add(4, 4)
    expect(p.entries()).toEqual([
      [1, 1],
      [4, 4],
    ])
    expect(p.take(1)).toBe(1)
    expect(p.take(4)).toBe(4)
    p.add(100, 100) // after a reset, seqs start again elsewhere
    expect(p.take(100)).toBe(100)
    p.clear()
    p.add(1, 1)
    expect(p.entries()).toEqual([[1, 1]])
  })

  it('stays right across many requests, one in flight or a window of them', () => {
    const p = new PendingRequests<number>()
    for (let seq = 1; seq <= 5_000; seq++) {
      p.add(seq, seq)
      expect(p.take(seq)).toBe(seq)
    }
    // A window of 10 in flight, answered newest first, and one old request that stays.
    p.add(5_001, 5_001)
    for (let seq = 5_002; seq <= 20_000; seq += 10) {
      for (let i = 0; i < 10; i++) p.add(seq + i, seq + i)
      for (let i = 9; i >= 0; i--) expect(p.take(seq + i)).toBe(seq + i)
    }
    expect(p.size).toBe(1)
    expect(p.entries()).toEqual([[5_001, 5_001]])
    expect(p.take(5_001)).toBe(5_001)
  })

  it('keeps the waiting ones right when the array is cut under them', () => {
    const p = new PendingRequests<number>()
    // Ten in flight, answered oldest first: the head passes 1,024 with nine still waiting.
    for (let seq = 1; seq <= 10; seq++) p.add(seq, seq)
    for (let seq = 11; seq <= 5_000; seq++) {
      expect(p.take(seq - 10)).toBe(seq - 10)
      p.add(seq, seq)
    }
    expect(p.size).toBe(10)
    expect(p.entries().map(([seq]) => seq)).toEqual([4_991, 4_992, 4_993, 4_994, 4_995, 4_996, 4_997, 4_998, 4_999, 5_000])
    for (let seq = 5_000; seq > 4_990; seq--) expect(p.take(seq)).toBe(seq)
    expect(p.size).toBe(0)
  })

  it('clear forgets everything', () => {
    const p = new PendingRequests<number>()
    p.add(1, 1)
    p.add(2, 2)
    p.clear()
    expect(p.size).toBe(0)
    expect(p.take(1)).toBeUndefined()
  })
})
