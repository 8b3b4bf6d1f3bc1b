import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mulberry32 } from '../../../test/helpers/fault-proxy.js'
import { backoffDelay } from './backoff.js'
import { RetrySchedule, STABLE_LINE_MS } from './retry.js'

/**
 * The retry policy alone, under fake timers: when each retry fires, how the waits grow and reset,
 * what the server's word changes, which transports a round tries, and what a crowd of clients
 * does to a server that stays down. Math.random is seeded where figures are asserted.
 */

/** The server's default recoveryMs: a fifth of it (12 s) is more than any wait these tests reach. */
const RECOVERY_MS = 60_000

/** Arms `schedule` `count` times in a row (each retry failing at once); returns the waits. */
function failInARow(schedule: RetrySchedule, count: number): number[] {
  return Array.from({ length: count }, () => schedule.arm(() => {}))
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('RetrySchedule', () => {
  it('fires the first retry quickly, at a random share of baseMs', async () => {
    const waits = Array.from({ length: 200 }, () => new RetrySchedule({}).arm(() => {}))
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(0), expect(w).toBeLessThan(500)
    expect(new Set(waits).size).toBeGreaterThan(100)
    const schedule = new RetrySchedule({ baseMs: 100 })
    const fire = vi.fn()
    const wait = schedule.arm(fire)
    await vi.advanceTimersByTimeAsync(wait)
    expect(fire).toHaveBeenCalledOnce()
  })

  it('grows the waits of one outage as backoffDelay says, up to maxMs', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const options = { baseMs: 100, maxMs: 2_000 }
    let last: number | undefined
    const expected = Array.from({ length: 7 }, () => (last = backoffDelay(last, options, () => 0.999)))
    expect(failInARow(new RetrySchedule(options), 7)).toEqual(expected)
    expect(expected).toEqual([99, 249, 621, 1_551, 2_000, 2_000, 2_000])
  })

  it('starts from the quick first retry again once a line has held for STABLE_LINE_MS', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    expect(failInARow(schedule, 3)).toEqual([99, 249, 621])
    schedule.adopted(RECOVERY_MS)
    await vi.advanceTimersByTimeAsync(STABLE_LINE_MS)
    expect(failInARow(schedule, 2)).toEqual([99, 249])
  })

  it('keeps growing when the line is lost sooner: a server that drops every line is not hammered', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    expect(failInARow(schedule, 2)).toEqual([99, 249])
    for (const expected of [621, 1_551, 2_000]) {
      schedule.adopted(RECOVERY_MS)
      await vi.advanceTimersByTimeAsync(STABLE_LINE_MS - 1)
      expect(schedule.arm(() => {})).toBe(expected)
    }
  })

  it('counts a line from its first adoption: an upgrade on the way does not restart the clock', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    failInARow(schedule, 3)
    schedule.adopted(RECOVERY_MS)
    await vi.advanceTimersByTimeAsync(STABLE_LINE_MS - 500)
    schedule.adopted(RECOVERY_MS)
    await vi.advanceTimersByTimeAsync(500)
    expect(schedule.arm(() => {})).toBe(99)
  })

  /** Loses a line adopted with `recoveryMs`, then fails `count` retries as each fires; returns the waits. */
  async function outage(schedule: RetrySchedule, recoveryMs: number, count: number, gone = false): Promise<number[]> {
    schedule.adopted(recoveryMs)
    const waits: number[] = []
    for (let i = 0; i < count; i++) {
      waits.push(schedule.arm(() => {}))
      if (i === 0 && gone) schedule.sessionGone()
      await vi.advanceTimersByTimeAsync(waits.at(-1)!)
    }
    return waits
  }

  it('waits at most a fifth of the recovery window while the server holds the session, then grows as before', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const options = { baseMs: 100, maxMs: 10_000 }
    let last: number | undefined
    const own = Array.from({ length: 9 }, () => (last = backoffDelay(last, options, () => 0.999)))
    expect(own).toEqual([99, 249, 621, 1_551, 3_873, 9_672, 10_000, 10_000, 10_000])
    // Window 2,000 ms from the loss: waits past 400 ms are drawn in [200, 400) until it ends (at
    // 99 + 249 + 4 x 399 = 1,944 ms the next wait still starts inside it), then the backoff's own.
    const waits = await outage(new RetrySchedule(options), 2_000, 9)
    expect(waits).toEqual([99, 249, 399, 399, 399, 399, 399, 10_000, 10_000])
    // At random: a window of 20 s retried at least every 4 s, then up to 10 s apart.
    vi.spyOn(Math, 'random').mockImplementation(mulberry32(7))
    const random = await outage(new RetrySchedule({ baseMs: 1_000, maxMs: 10_000 }), 20_000, 20)
    let at = 0
    const inside = random.filter((w) => (at += w) - w < 20_000)
    expect(Math.max(...inside)).toBeLessThan(4_000)
    expect(inside.length).toBeGreaterThan(5)
    expect(Math.max(...random.slice(inside.length))).toBeGreaterThan(4_000)
  })

  it('lets the waits grow once the session is known gone: there is no window left to retry within', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const options = { baseMs: 100, maxMs: 10_000 }
    expect(await outage(new RetrySchedule(options), 2_000, 4, true)).toEqual([99, 249, 621, 1_551])
    // A new session's line, adopted and lost, has its window again.
    const schedule = new RetrySchedule(options)
    await outage(schedule, 2_000, 1, true)
    expect(await outage(schedule, 2_000, 3)).toEqual([249, 399, 399])
  })

  it("waits exactly the server's reconnectMs, whatever its own backoff says", () => {
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    failInARow(schedule, 5)
    expect(schedule.arm(() => {}, 50)).toBe(50)
    expect(schedule.arm(() => {}, 10_000)).toBe(10_000)
  })

  it("waits at least the server's retryAfterMs, plus up to as much again at random", () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    expect(schedule.arm(() => {}, undefined, 3_000)).toBe(4_500)
    // A floor: a longer backoff of the client's own still stands.
    const longer = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    failInARow(longer, 6)
    expect(longer.arm(() => {}, undefined, 10)).toBe(941)
  })

  it('ends its own wait on wake(), but not a wait the server asked for', async () => {
    const schedule = new RetrySchedule({ baseMs: 100, maxMs: 2_000 })
    const fire = vi.fn()
    failInARow(schedule, 4)
    schedule.arm(fire)
    expect(schedule.wake(fire)).toBe(0)
    schedule.arm(fire, undefined, 5_000)
    await vi.advanceTimersByTimeAsync(1_000)
    const rest = schedule.wake(fire)
    expect(rest).toBeGreaterThanOrEqual(4_000)
    await vi.advanceTimersByTimeAsync(rest - 1)
    expect(fire).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(fire).toHaveBeenCalledOnce()
  })

  it('tries every transport until a line has carried the session, then its transport alone except every third round', () => {
    const schedule = new RetrySchedule({})
    const rounds: boolean[] = []
    for (let i = 0; i < 3; i++) schedule.arm(() => {}), rounds.push(schedule.wholeRound)
    expect(rounds).toEqual([true, true, true])
    schedule.adopted(RECOVERY_MS)
    rounds.length = 0
    for (let i = 0; i < 6; i++) schedule.arm(() => {}), rounds.push(schedule.wholeRound)
    expect(rounds).toEqual([false, false, true, false, false, true])
  })

  /**
   * A crowd of 1,000 clients against a server that stays down for `seconds`, every attempt refused
   * at once and the next one armed; `held`: each had a line of a session the server holds 60 s.
   * Returns the attempts per second and the longest wait of any client.
   */
  function crowd(seconds: number, held: boolean, seed: number) {
    vi.spyOn(Math, 'random').mockImplementation(mulberry32(seed))
    const start = Date.now()
    const perSecond = new Array<number>(seconds).fill(0)
    let longest = 0
    for (let c = 0; c < CROWD; c++) {
      const schedule = new RetrySchedule({})
      if (held) schedule.adopted(RECOVERY_MS)
      let last = start
      const attempt = () => {
        const at = Date.now()
        longest = Math.max(longest, at - last)
        last = at
        if (at - start < seconds * 1_000) perSecond[Math.floor((at - start) / 1_000)]!++
        schedule.arm(attempt)
      }
      schedule.arm(attempt)
    }
    vi.advanceTimersByTime(seconds * 1_000)
    const mean = (from: number, to = seconds) => perSecond.slice(from, to).reduce((a, b) => a + b, 0) / (to - from)
    const peak = (from: number, to = seconds) => Math.max(...perSecond.slice(from, to))
    return { perSecond, longest, mean, peak, attempts: perSecond.reduce((a, b) => a + b, 0) }
  }
  const CROWD = 1_000

  it('bounds the rate a thousand clients put on a server that stays down, and spreads it', () => {
    // Past the first minute the crowd's rate is steady; 1,000 clients' timers take seconds to run.
    const MINUTES = 3
    const { perSecond, mean, peak, attempts } = crowd(MINUTES * 60, false, 16)
    console.log(
      `1,000 clients, server down ${MINUTES} min: ${attempts} attempts; per second: peak ${peak(0)} (first second ${perSecond[0]}), ` +
        `mean over minutes 2-${MINUTES} ${mean(60).toFixed(1)}, peak there ${peak(60)}`,
    )
    // The first retries are spread over baseMs (500 ms), and the next ones come at least baseMs
    // later: no client knocks more than twice in the first second.
    expect(perSecond[0]).toBeLessThanOrEqual(2 * CROWD)
    // Past the first minute the waits are mostly near maxMs (15 s), about 7 s on average: some
    // 140 attempts a second from 1,000 clients (full jitter under the same cap made 133).
    expect(mean(60)).toBeLessThan(CROWD / 5)
    // Spread, not in waves: no second sees twice the mean.
    expect(peak(60)).toBeLessThan(2 * mean(60))
  }, 60_000)

  it('spreads the first retries of a crowd over baseMs, not all at once', () => {
    vi.spyOn(Math, 'random').mockImplementation(mulberry32(16))
    const start = Date.now()
    const firstTenths = new Array<number>(10).fill(0)
    for (let c = 0; c < CROWD; c++) {
      const schedule = new RetrySchedule({})
      const attempt = () => {
        const at = Date.now() - start
        if (at < 1_000) firstTenths[Math.floor(at / 100)]!++
        schedule.arm(attempt)
      }
      schedule.arm(attempt)
    }
    vi.advanceTimersByTime(1_000)
    expect(Math.max(...firstTenths)).toBeLessThan(CROWD / 3)
  })

  it("retries a crowd cut inside its sessions' window (60 s) within 12 s each, spread, not much more often than without one", () => {
    const inside = crowd(60, true, 23)
    const outside = crowd(60, false, 23)
    console.log(
      `1,000 clients, sessions held 60 s: longest wait ${inside.longest} ms (${outside.longest} without a window); ` +
        `from 20 s mean ${inside.mean(20).toFixed(1)}/s (${outside.mean(20).toFixed(1)}), peak ${inside.peak(20)}`,
    )
    // A network back anywhere in the window is found within a fifth of it, by every client.
    expect(inside.longest).toBeLessThanOrEqual(RECOVERY_MS / 5)
    expect(outside.longest).toBeGreaterThan(RECOVERY_MS / 5)
    // Only the waits drawn past 12 s are shortened: a little more load, still spread.
    expect(inside.mean(20)).toBeLessThan(1.25 * outside.mean(20))
    expect(inside.peak(20)).toBeLessThan(2 * inside.mean(20))
  }, 60_000)
})
