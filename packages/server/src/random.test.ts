import { describe, expect, it } from 'vitest'
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
})

describe('createRandomId', () => {
  it('writes 16 random bytes as 22 base64url characters, 24 as 32', () => {
    expect(createRandomId(16)).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(createRandomId(24)).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })

  it('draws new bytes every time', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => createRandomId(16)))
    expect(ids.size).toBe(1_000)
  })
})
