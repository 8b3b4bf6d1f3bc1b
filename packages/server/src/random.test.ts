import { describe, expect, it, vi } from 'vitest'
import { createRandomId, toBase64Url } from './random.js'

describe('toBase64Url', () => {
  it.each([
    ['no bytes', []],
    ['one byte (two padding characters dropped)', [0xff]],
    ['two bytes (one padding character dropped)', [0xfb, 0xef]],
    ['bytes whose base64 has + and /', [0xfb, 0xff, 0xbf, 0xfe]],
    ['every byte value', Array.from({ length: 256 }, (_, i) => i)],
  ])('writes %s as Node writes base64url', (_name, values) => {
    const bytes = Uint8Array.from(values)
    expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'))
  })

  it('writes a slice of the bytes, as Node writes that slice', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 255)
    for (const [from, to] of [
      [0, 16],
      [5, 29],
      [40, 41],
      [62, 64],
      [10, 10],
    ] as const)
      expect(toBase64Url(bytes, from, to)).toBe(Buffer.from(bytes.subarray(from, to)).toString('base64url'))
  })
})

describe('createRandomId', () => {
  it('writes 16 random bytes as 22 base64url characters, 24 as 32', () => {
    expect(createRandomId(16)).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(createRandomId(24)).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })

  it('draws new bytes every time, across refills of the 4 KiB pool', () => {
    // 1,000 ids of 16 bytes and 1,000 of 24 take the pool around ten times.
    const ids = new Set(Array.from({ length: 2_000 }, (_, i) => createRandomId(i % 2 ? 24 : 16)))
    expect(ids.size).toBe(2_000)
  })

  it('takes fresh bytes from the Web Crypto API when the pool runs out, 4 KiB at a time', () => {
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues')
    try {
      for (let i = 0; i < 256; i++) createRandomId(16) // 4,096 bytes: at most two refills
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1)
      expect(spy.mock.calls.length).toBeLessThanOrEqual(2)
      expect(spy.mock.calls.every(([pool]) => (pool as Uint8Array).length === 4096)).toBe(true)
    } finally {
      spy.mockRestore()
    }
  })
})
