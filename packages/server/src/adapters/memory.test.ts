import { encodeData, joinMessageBody } from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import { createMemoryAdapter } from './memory.js'

/**
 * What only the memory adapter promises. The contract every adapter keeps is checked by
 * test/adapter-conformance, for this adapter too.
 */

/** The memory adapter answers synchronously; the Adapter type allows promises, so narrow here. */
function sync<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error('the memory adapter should answer synchronously')
  return value
}

const publish = (adapter: ReturnType<typeof createMemoryAdapter>, channel: string, data: unknown, historySize = 0, key?: string) =>
  sync(adapter.publish(channel, encodeData(data), historySize, key))

describe('createMemoryAdapter', () => {
  it('answers every channel call synchronously, so a publish costs no promise', () => {
    const adapter = createMemoryAdapter()
    void adapter.start({ onMessage: () => {} })
    expect(sync(adapter.subscribe('a'))).toBeUndefined()
    expect(publish(adapter, 'a', 1, 5)).toBe(1)
    expect(publish(adapter, 'a', 2, 5, 'key')).toBe(2)
    expect(publish(adapter, 'a', 2, 5, 'key')).toBe(2)
    expect(sync(adapter.position('a')).offset).toBe(2)
    expect(sync(adapter.history('a', 0)).messages).toHaveLength(2)
    expect(sync(adapter.recent('a', 1)).messages).toHaveLength(1)
    expect(sync(adapter.unsubscribe('a'))).toBeUndefined()
  })

  it('delivers (channel, offset, epoch, body) with the body built once by joinMessageBody', () => {
    const adapter = createMemoryAdapter()
    const onMessage = vi.fn()
    void adapter.start({ onMessage })
    void adapter.subscribe('room:a')
    void adapter.subscribe('room:b')
    const { epoch } = sync(adapter.position('room:a'))
    publish(adapter, 'room:a', { text: 'hi' })
    publish(adapter, 'room:b', 'plain')
    publish(adapter, 'room:a', undefined)
    expect(onMessage.mock.calls).toEqual([
      ['room:a', 1, epoch, joinMessageBody('room:a', '{"text":"hi"}', 1)],
      ['room:b', 1, epoch, joinMessageBody('room:b', '"plain"', 1)],
      ['room:a', 2, epoch, joinMessageBody('room:a', 'null', 2)],
    ])
  })

  it('keeps the body it delivered in history', () => {
    const adapter = createMemoryAdapter()
    const bodies: string[] = []
    void adapter.start({ onMessage: (_channel, _offset, _epoch, body) => bodies.push(body) })
    void adapter.subscribe('a')
    publish(adapter, 'a', 'a1', 5)
    publish(adapter, 'a', 'a2', 5)
    expect(sync(adapter.history('a', 0)).messages.map((m) => m.body)).toEqual(bodies)
  })

  it('publishes without a deliver callback before start()', () => {
    const adapter = createMemoryAdapter()
    expect(publish(adapter, 'a', 1)).toBe(1)
  })

  it('starts a new epoch per adapter, as a process restart does', () => {
    const epochs = new Set(Array.from({ length: 20 }, () => sync(createMemoryAdapter().position('a')).epoch))
    expect(epochs.size).toBe(20)
  })

  it('starts a new epoch when closed, since its offsets start again', async () => {
    const adapter = createMemoryAdapter()
    publish(adapter, 'a', 1)
    const before = sync(adapter.position('a')).epoch
    await adapter.close()
    const after = sync(adapter.position('a'))
    expect(after.offset).toBe(0)
    expect(after.epoch).not.toBe(before)
  })

  it('refuses an idempotency window that is not a positive number', () => {
    for (const idempotencyWindowMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => createMemoryAdapter({ idempotencyWindowMs })).toThrow(TypeError)
  })

  it('claims every session for its own node', () => {
    const adapter = createMemoryAdapter()
    const lease = sync(adapter.sessions.claim('s1', 10_000))
    expect(lease.nodeId).toBe(adapter.sessions.nodeId)
    expect(sync(adapter.sessions.claim('s1', 10_000)).nodeId).toBe(adapter.sessions.nodeId)
  })
})
