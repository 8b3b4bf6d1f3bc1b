import { afterEach, describe, expect, it, vi } from 'vitest'
import { PendingNotices } from './pending-notices.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('PendingNotices', () => {
  it('resolves at once when no client is awaited', async () => {
    await expect(new PendingNotices().wait(1_000)).resolves.toBeUndefined()
  })

  it('resolves when the last awaited client has heard, not before', async () => {
    vi.useFakeTimers()
    const notices = new PendingNotices()
    notices.add('a')
    notices.add('b')
    let resolved = false
    const waiting = notices.wait(10_000).then(() => (resolved = true))
    notices.heard('a')
    notices.heard('unknown')
    await vi.advanceTimersByTimeAsync(0)
    expect(resolved).toBe(false)
    notices.heard('b')
    await waiting
    expect(resolved).toBe(true)
  })

  it('gives up after the timeout and forgets the clients it still awaited', async () => {
    vi.useFakeTimers()
    const notices = new PendingNotices()
    notices.add('silent')
    let resolved = false
    const waiting = notices.wait(5_000).then(() => (resolved = true))
    await vi.advanceTimersByTimeAsync(4_999)
    expect(resolved).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await waiting
    expect(notices.has('silent')).toBe(false)
  })
})
