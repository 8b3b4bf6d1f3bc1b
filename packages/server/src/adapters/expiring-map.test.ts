import { describe, expect, it } from 'vitest'
import { ExpiringMap } from './expiring-map.js'

// Every call takes `now`, so time is plain numbers here: no timers, real or fake.
describe('ExpiringMap', () => {
  it('returns an entry until its time to live runs out, then drops it', () => {
    const map = new ExpiringMap<string, number>()
    map.set('a', 1, 100, 1_000)
    expect(map.get('a', 1_099)).toBe(1)
    expect(map.get('a', 1_100)).toBeUndefined()
    expect(map.size).toBe(0)
  })

  it('starts the time to live again when an entry is set again', () => {
    const map = new ExpiringMap<string, number>()
    map.set('a', 1, 100, 1_000)
    map.set('a', 2, 100, 1_050)
    expect(map.get('a', 1_120)).toBe(2)
  })

  it('lists only live entries', () => {
    const map = new ExpiringMap<string, number>()
    map.set('short', 1, 10, 0)
    map.set('long', 2, 1_000, 0)
    expect([...map.entries(50)]).toEqual([['long', 2]])
  })

  it('sweeps expired entries as it is used, at most once a second', () => {
    const map = new ExpiringMap<string, number>()
    map.set('a', 1, 10, 0)
    map.set('b', 2, 10, 0)
    expect(map.size).toBe(2) // the first set swept an empty map: the next sweep is due at 1000
    map.set('c', 3, 10_000, 500)
    expect(map.size).toBe(3)
    map.set('d', 4, 10_000, 1_000)
    expect(map.size).toBe(2)
  })
})
