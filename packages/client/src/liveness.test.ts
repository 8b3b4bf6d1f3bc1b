import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Liveness } from './liveness.js'

describe('Liveness', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('declares the line dead exactly at the deadline when nothing arrives', () => {
    const live = new Liveness()
    const dead = vi.fn()
    live.watch(1_000, dead)
    vi.advanceTimersByTime(999)
    expect(dead).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(dead).toHaveBeenCalledWith(1_000)
  })

  it('pushes the deadline back by each touch, measured from the last one', () => {
    const live = new Liveness()
    const dead = vi.fn()
    live.watch(1_000, dead)
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(600)
      live.touch()
    }
    expect(dead).not.toHaveBeenCalled()
    vi.advanceTimersByTime(999)
    expect(dead).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(dead).toHaveBeenCalledTimes(1)
  })

  it('arms one timer however many touches arrive (no timer per batch)', () => {
    const live = new Liveness()
    live.watch(1_000, () => {})
    for (let i = 0; i < 1_000; i++) live.touch()
    expect(vi.getTimerCount()).toBe(1)
  })

  it('stops: no call after stop(), and watch() replaces an earlier watch', () => {
    const live = new Liveness()
    const first = vi.fn()
    const second = vi.fn()
    live.watch(1_000, first)
    live.watch(2_000, second)
    vi.advanceTimersByTime(1_500)
    expect(first).not.toHaveBeenCalled()
    live.stop()
    vi.advanceTimersByTime(5_000)
    expect(second).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })
})
