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
    const dead = vi.fn()
    const live = new Liveness(dead)
    live.watch(1_000)
    vi.advanceTimersByTime(999)
    expect(dead).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(dead).toHaveBeenCalledWith(1_000)
  })

  it('pushes the deadline back by each touch, measured from the last one', () => {
    const dead = vi.fn()
    const live = new Liveness(dead)
    live.watch(1_000)
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
    const live = new Liveness(() => {})
    live.watch(1_000)
    for (let i = 0; i < 1_000; i++) live.touch()
    expect(vi.getTimerCount()).toBe(1)
  })

  it('stops: no call after stop(), and watch() replaces an earlier watch', () => {
    const dead = vi.fn()
    const live = new Liveness(dead)
    live.watch(1_000)
    live.watch(2_000)
    vi.advanceTimersByTime(1_500)
    expect(dead).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(500)
    expect(dead).toHaveBeenCalledWith(2_000)
    live.watch(1_000)
    live.stop()
    vi.advanceTimersByTime(5_000)
    expect(dead).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})
