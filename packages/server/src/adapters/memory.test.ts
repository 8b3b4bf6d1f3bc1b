import { encodeData, joinMessageBody } from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import { createMemoryAdapter } from './memory.js'

/** The memory adapter answers synchronously; the Adapter type allows promises, so narrow here. */
function sync<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error('the memory adapter should answer synchronously')
  return value
}

const publish = (adapter: ReturnType<typeof createMemoryAdapter>, channel: string, data: unknown, historySize = 0) =>
  sync(adapter.publish(channel, encodeData(data), historySize))

describe('createMemoryAdapter', () => {
  it('numbers messages per channel from 1', () => {
    const adapter = createMemoryAdapter()
    expect([1, 2, 3].map((n) => publish(adapter, 'room:a', { n }))).toEqual([1, 2, 3])
    expect(sync(adapter.position('room:a')).offset).toBe(3)
  })

  it('keeps independent offsets per channel', () => {
    const adapter = createMemoryAdapter()
    expect(publish(adapter, 'a', 1)).toBe(1)
    expect(publish(adapter, 'a', 2)).toBe(2)
    expect(publish(adapter, 'b', 1)).toBe(1)
    expect(publish(adapter, 'a', 3)).toBe(3)
    expect(publish(adapter, 'b', 2)).toBe(2)
    expect(sync(adapter.position('a')).offset).toBe(3)
    expect(sync(adapter.position('b')).offset).toBe(2)
  })

  it('reports offset 0 for a channel never published to', () => {
    const adapter = createMemoryAdapter()
    expect(sync(adapter.position('nothing')).offset).toBe(0)
    expect(sync(adapter.history('nothing', 0))).toEqual([])
  })

  it('delivers (channel, offset, body) with the body built once by joinMessageBody', () => {
    const adapter = createMemoryAdapter()
    const deliver = vi.fn()
    void adapter.start(deliver)
    publish(adapter, 'room:a', { text: 'hi' })
    publish(adapter, 'room:b', 'plain')
    publish(adapter, 'room:a', undefined)
    expect(deliver.mock.calls).toEqual([
      ['room:a', 1, joinMessageBody('room:a', '{"text":"hi"}', 1)],
      ['room:b', 1, joinMessageBody('room:b', '"plain"', 1)],
      ['room:a', 2, joinMessageBody('room:a', 'null', 2)],
    ])
  })

  it('publishes without a deliver callback before start()', () => {
    const adapter = createMemoryAdapter()
    expect(publish(adapter, 'a', 1)).toBe(1)
  })

  describe('history', () => {
    const setup = (count: number, historySize: number) => {
      const adapter = createMemoryAdapter()
      const bodies: string[] = []
      void adapter.start((_channel, _offset, body) => bodies.push(body))
      for (let n = 1; n <= count; n++) publish(adapter, 'room', { n }, historySize)
      return { adapter, bodies }
    }

    it('returns exactly the messages after `since`, oldest first', () => {
      const { adapter, bodies } = setup(5, 10)
      for (let since = 0; since < 5; since++) {
        expect(sync(adapter.history('room', since))).toEqual(
          bodies.slice(since).map((body, i) => ({ offset: since + 1 + i, body })),
        )
      }
    })

    it('returns [] when the caller is up to date', () => {
      const { adapter } = setup(5, 10)
      expect(sync(adapter.history('room', 5))).toEqual([])
    })

    it('returns null when the history no longer reaches back to `since`', () => {
      const { adapter, bodies } = setup(10, 3) // keeps 8, 9, 10
      expect(sync(adapter.history('room', 7))).toEqual([
        { offset: 8, body: bodies[7] },
        { offset: 9, body: bodies[8] },
        { offset: 10, body: bodies[9] },
      ])
      expect(sync(adapter.history('room', 6))).toBeNull()
      expect(sync(adapter.history('room', 0))).toBeNull()
      expect(sync(adapter.history('room', 9))).toEqual([{ offset: 10, body: bodies[9] }])
    })

    it('keeps nothing with historySize 0', () => {
      const { adapter } = setup(3, 0)
      expect(sync(adapter.history('room', 2))).toBeNull()
      expect(sync(adapter.history('room', 0))).toBeNull()
      expect(sync(adapter.history('room', 3))).toEqual([])
    })

    it('keeps the history of each channel apart', () => {
      const adapter = createMemoryAdapter()
      publish(adapter, 'a', 'a1', 5)
      publish(adapter, 'b', 'b1', 5)
      publish(adapter, 'a', 'a2', 5)
      expect(sync(adapter.history('a', 0))?.map((m) => m.body)).toEqual([
        joinMessageBody('a', '"a1"', 1),
        joinMessageBody('a', '"a2"', 2),
      ])
      expect(sync(adapter.history('b', 0))?.map((m) => m.body)).toEqual([joinMessageBody('b', '"b1"', 1)])
    })
  })

  describe('epoch', () => {
    it('stays the same within one adapter', () => {
      const adapter = createMemoryAdapter()
      const before = sync(adapter.position('a')).epoch
      publish(adapter, 'a', 1)
      expect(sync(adapter.position('a')).epoch).toBe(before)
      expect(sync(adapter.position('other')).epoch).toBe(before)
      expect(before.length).toBeGreaterThan(0)
    })

    it('differs between two adapters', () => {
      const epochs = new Set(Array.from({ length: 20 }, () => sync(createMemoryAdapter().position('a')).epoch))
      expect(epochs.size).toBe(20)
    })
  })

  it('stops delivering after close()', async () => {
    const adapter = createMemoryAdapter()
    const deliver = vi.fn()
    void adapter.start(deliver)
    publish(adapter, 'a', 1)
    await adapter.close()
    publish(adapter, 'a', 2)
    expect(deliver).toHaveBeenCalledTimes(1)
  })
})
