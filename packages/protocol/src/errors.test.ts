import { readFileSync } from 'node:fs'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { codeFromClose, ERRORS, type ErrorCode, isErrorCode, SwitchboardError } from './errors.js'

const CODES = Object.keys(ERRORS) as ErrorCode[]

describe('ERRORS', () => {
  it('holds at least the codes the codec and session rely on', () => {
    for (const code of ['MALFORMED_FRAME', 'BATCH_TOO_LARGE', 'SLOW_CONSUMER', 'OUTBOX_FULL', 'INTERNAL']) {
      expect(CODES).toContain(code)
    }
  })

  it.each(CODES)('%s has an HTTP status, a close code in 4000-4999 and a message', (code) => {
    const { status, close, message } = ERRORS[code]
    expect(Number.isInteger(status)).toBe(true)
    expect(status).toBeGreaterThanOrEqual(400)
    expect(status).toBeLessThan(600)
    expect(Number.isInteger(close)).toBe(true)
    expect(close).toBeGreaterThanOrEqual(4000)
    expect(close).toBeLessThanOrEqual(4999)
    expect(typeof message).toBe('string')
    expect(message.trim().length).toBeGreaterThan(0)
  })

  it('gives every code its own close code', () => {
    const closes = CODES.map((code) => ERRORS[code].close)
    expect(new Set(closes).size).toBe(closes.length)
  })

  it('spells every code in SCREAMING_SNAKE', () => {
    for (const code of CODES) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/)
  })
})

describe('codeFromClose', () => {
  it.each(CODES)('maps the close code of %s back to it', (code) => {
    expect(codeFromClose(ERRORS[code].close)).toBe(code)
  })

  it.each([1000, 1001, 1006, 1011, 3000, 3999, 4999, 5000, 0, -4001, 4001.5, Number.NaN])(
    'returns undefined for %s, which is not one of ours',
    (close) => {
      expect(codeFromClose(close)).toBeUndefined()
    },
  )
})

describe('isErrorCode', () => {
  it.each(CODES)('accepts %s', (code) => {
    expect(isErrorCode(code)).toBe(true)
  })

  it.each<[string, unknown]>([
    ['an unknown code', 'NOPE'],
    ['a lower-case code', 'malformed_frame'],
    ['an empty string', ''],
    ['an inherited property', 'toString'],
    ['the prototype key', '__proto__'],
    ['a constructor key', 'constructor'],
    ['a close code', 4001],
    ['null', null],
    ['undefined', undefined],
    ['an object', { code: 'INTERNAL' }],
    ['an array', ['INTERNAL']],
  ])('rejects %s', (_label, value) => {
    expect(isErrorCode(value)).toBe(false)
  })

  it('narrows unknown to ErrorCode', () => {
    const value: unknown = 'TIMEOUT'
    if (isErrorCode(value)) expectTypeOf(value).toEqualTypeOf<ErrorCode>()
    expect(isErrorCode(value)).toBe(true)
  })
})

describe('SwitchboardError', () => {
  it('defaults its message to the table entry', () => {
    const err = new SwitchboardError('UNKNOWN_SESSION')
    expect(err.message).toBe(ERRORS.UNKNOWN_SESSION.message)
    expect(err.code).toBe('UNKNOWN_SESSION')
  })

  it.each(CODES)('derives status and closeCode of %s from the table', (code) => {
    const err = new SwitchboardError(code)
    expect(err.status).toBe(ERRORS[code].status)
    expect(err.closeCode).toBe(ERRORS[code].close)
    expect(err.message).toBe(ERRORS[code].message)
  })

  it('keeps a custom message and the code of the table entry', () => {
    const err = new SwitchboardError('RPC_ERROR', 'divide by zero')
    expect(err.message).toBe('divide by zero')
    expect(err.code).toBe('RPC_ERROR')
    expect(err.status).toBe(500)
    expect(err.closeCode).toBe(4012)
  })

  it('keeps an empty custom message rather than the default', () => {
    expect(new SwitchboardError('TIMEOUT', '').message).toBe('')
  })

  it('is an Error named SwitchboardError with a stack', () => {
    const err = new SwitchboardError('INTERNAL')
    expect(err).toBeInstanceOf(Error)
    expect(err).toBeInstanceOf(SwitchboardError)
    expect(err.name).toBe('SwitchboardError')
    expect(String(err)).toBe(`SwitchboardError: ${ERRORS.INTERNAL.message}`)
    expect(err.stack).toContain('SwitchboardError')
  })

  it('carries a cause when given one', () => {
    const cause = new TypeError('boom')
    const err = new SwitchboardError('INTERNAL', undefined, { cause })
    expect(err.cause).toBe(cause)
    expect(err.message).toBe(ERRORS.INTERNAL.message)
  })

  it('keeps falsy causes other than undefined', () => {
    expect(new SwitchboardError('INTERNAL', 'x', { cause: null }).cause).toBeNull()
    expect(new SwitchboardError('INTERNAL', 'x', { cause: 0 }).cause).toBe(0)
    expect(new SwitchboardError('INTERNAL', 'x', { cause: '' }).cause).toBe('')
  })

  it('has no own cause property when none is given', () => {
    expect(Object.hasOwn(new SwitchboardError('INTERNAL'), 'cause')).toBe(false)
    expect(Object.hasOwn(new SwitchboardError('INTERNAL', 'x', {}), 'cause')).toBe(false)
    expect(Object.hasOwn(new SwitchboardError('INTERNAL', 'x', { cause: undefined }), 'cause')).toBe(false)
  })

  it('carries data an RPC handler chose to send, undefined otherwise', () => {
    const data = { field: 'name', reason: ['too', 'short'] }
    expect(new SwitchboardError('RPC_ERROR', 'invalid', { data }).data).toBe(data)
    expect(new SwitchboardError('RPC_ERROR').data).toBeUndefined()
  })

  it('serializes retryAfterMs when the refusal says when to come back', () => {
    const err = new SwitchboardError('TOO_MANY_SESSIONS', undefined, { retryAfterMs: 5_000 })
    expect(err.retryAfterMs).toBe(5_000)
    expect(err.toJSON()).toEqual({ code: 'TOO_MANY_SESSIONS', message: ERRORS.TOO_MANY_SESSIONS.message, retryAfterMs: 5_000 })
    expect(new SwitchboardError('TIMEOUT').retryAfterMs).toBeUndefined()
  })

  it('serializes to { code, message } only, leaving out cause, data and stack', () => {
    const err = new SwitchboardError('FORBIDDEN', 'not yours', { cause: new Error('secret'), data: { x: 1 } })
    expect(err.toJSON()).toEqual({ code: 'FORBIDDEN', message: 'not yours' })
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'FORBIDDEN', message: 'not yours' })
    expect(JSON.stringify({ error: new SwitchboardError('TIMEOUT') })).toBe(`{"error":{"code":"TIMEOUT","message":"${ERRORS.TIMEOUT.message}"}}`)
  })

  it('types code as ErrorCode and toJSON as { code, message }', () => {
    const err = new SwitchboardError('CLOSED')
    expectTypeOf(err.code).toEqualTypeOf<ErrorCode>()
    expectTypeOf(err.toJSON()).toEqualTypeOf<{ code: ErrorCode; message: string; retryAfterMs?: number }>()
    expectTypeOf(err.data).toBeUnknown()
    // @ts-expect-error an unknown code does not compile
    expect(() => new SwitchboardError('NOPE')).toThrow(TypeError)
  })
})

describe('README error table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (\d+) \| (.+) \|$/gm)].map((m) => ({
    code: m[1],
    status: Number(m[2]),
    close: Number(m[3]),
    message: m[4],
  }))

  it('lists every code, in table order, with its status, close code and message', () => {
    expect(rows).toEqual(CODES.map((code) => ({ code, ...ERRORS[code] })))
  })
})
