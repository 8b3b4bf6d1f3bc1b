import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTransportMemory } from './remember.js'

afterEach(() => {
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('createTransportMemory', () => {
  it('is one memory per ttl, which writes a transport once while it is fresh and again when it changes or ages', () => {
    const items = new Map<string, string>()
    const writes: string[] = []
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => (writes.push(v), items.set(k, v)),
      removeItem: (k: string) => items.delete(k),
    })
    let now = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    // A ttl no other test uses: this memory is made here, on the stubbed storage.
    const ttlMs = 100_000
    const memory = createTransportMemory(ttlMs)
    expect(createTransportMemory(ttlMs)).toBe(memory)

    memory.set('http://a/rt', 'websocket')
    memory.set('http://a/rt', 'websocket')
    expect(writes).toHaveLength(1)
    expect(memory.get('http://a/rt')).toBe('websocket')

    memory.set('http://a/rt', 'sse')
    memory.set('http://b/rt', 'sse')
    expect(writes).toHaveLength(3)
    expect(memory.get('http://a/rt')).toBe('sse')

    // A hundredth of the ttl later the same transport is written again, so it never expires in use.
    now += ttlMs / 100
    memory.set('http://a/rt', 'sse')
    expect(writes).toHaveLength(4)
    expect(JSON.parse(writes[3]!)).toEqual({ transport: 'sse', until: now + ttlMs })
  })
})
