import { describe, expect, it } from 'vitest'
import { tokensEqual } from './http.js'

describe('tokensEqual', () => {
  const token = 'q9Jx1bPZ3fTQy2Kd8mWc0rVn5sLh7uEa'

  it('accepts the same token', () => {
    expect(tokensEqual(token, token)).toBe(true)
    expect(tokensEqual('é✓😀', 'é✓😀')).toBe(true)
  })

  it('refuses a token that differs in one character, first or last', () => {
    expect(tokensEqual(`x${token.slice(1)}`, token)).toBe(false)
    expect(tokensEqual(`${token.slice(0, -1)}x`, token)).toBe(false)
  })

  it('refuses a missing, empty, shorter or longer token', () => {
    expect(tokensEqual(undefined, token)).toBe(false)
    expect(tokensEqual('', token)).toBe(false)
    expect(tokensEqual(token.slice(1), token)).toBe(false)
    expect(tokensEqual(`${token}x`, token)).toBe(false)
  })

  it('compares whole UTF-16 code units: characters that share their low byte differ', () => {
    expect(tokensEqual('aé', 'ab')).toBe(false)
    expect(tokensEqual('aé', 'abc')).toBe(false)
    expect(tokensEqual('x\u0161', 'x\u0061')).toBe(false)
    expect(tokensEqual('\ud83d\ude00', '\ud83d\ude01')).toBe(false)
  })
})
