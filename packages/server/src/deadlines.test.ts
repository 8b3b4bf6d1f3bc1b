import { afterEach, describe, expect, it, vi } from 'vitest'
import { Deadlines } from './deadlines.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('Deadlines', () => {
  it('tells each wait that runs out, with its ticket, between timeoutMs and timeoutMs + slackMs after it began', () => {
    vi.useFakeTimers()
    const expired: [string, number, number][] = []
    const d = new Deadlines<string>(10_000, (item, ticket) => expired.push([item, ticket, Date.now()]), 1_000)
    const start = Date.now()
    const a = d.add('a')
    vi.advanceTimersByTime(400)
    const b = d.add('b')
    expect([a, b]).toEqual([1, 2])
    vi.advanceTimersByTime(9_599)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual([['a', 1, start + 10_000]])
    // b was due 400 ms later: the next sweep comes a slackMs after the last one.
    vi.advanceTimersByTime(1_000)
    expect(expired).toEqual([
      ['a', 1, start + 10_000],
      ['b', 2, start + 11_000],
    ])
    expect(d.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('holds one timer however many waits there are, and fires it at most once per slackMs', () => {
    vi.useFakeTimers()
    let expired = 0
    const d = new Deadlines<number>(10_000, () => expired++, 1_000)
    const fired = vi.spyOn(globalThis, 'setTimeout')
    for (let i = 0; i < 5_000; i++) {
      d.add(i)
      expect(vi.getTimerCount()).toBe(1)
      vi.advanceTimersByTime(4)
    }
    // 20 s of waits, one every 4 ms: 5,000 expiries in the sweeps of 10 s after them.
    vi.advanceTimersByTime(11_000)
    expect(expired).toBe(5_000)
    expect(fired.mock.calls.length).toBeLessThanOrEqual(22)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('end(ticket) lets a wait go before it runs out: it is never told, and the others still are', () => {
    vi.useFakeTimers()
    const expired: string[] = []
    const d = new Deadlines<string>(1_000, (item) => expired.push(item), 100)
    d.add('a')
    const b = d.add('b')
    d.add('c')
    d.end(b)
    d.end(b + 10) // no such wait: nothing changes
    vi.advanceTimersByTime(1_000)
    expect(expired).toEqual(['a', 'c'])
    // After the sweep: tickets go on, and end() of a swept one changes nothing.
    d.end(b)
    const e = d.add('e')
    expect(e).toBe(4)
    vi.advanceTimersByTime(1_000)
    expect(expired).toEqual(['a', 'c', 'e'])
  })

  it('a wait started by an expiry arms the timer once', () => {
    vi.useFakeTimers()
    const seen: number[] = []
    const d = new Deadlines<string>(
      1_000,
      (item, ticket) => {
        seen.push(ticket)
        if (item === 'again') d.add('last')
      },
      100,
    )
    d.add('again')
    vi.advanceTimersByTime(1_000)
    expect(seen).toEqual([1])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(1_000)
    expect(seen).toEqual([1, 2])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never keeps the process alive: its timer is unref-ed', () => {
    const d = new Deadlines<string>(60_000, () => {})
    const set = vi.spyOn(globalThis, 'setTimeout')
    d.add('x')
    const timer = set.mock.results[0]!.value as NodeJS.Timeout
    expect(timer.hasRef()).toBe(false)
    clearTimeout(timer)
    set.mockRestore()
  })
})
