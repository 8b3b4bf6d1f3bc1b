import { readFileSync } from 'node:fs'
import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import {
  decodeClientBatch,
  decodeServerBatch,
  encodeAck,
  encodeBatch,
  wrapBatch,
  joinControl,
  encodeData,
  encodeFrame,
  encodeMessage,
  encodeChannelFrame,
  encodeGapBody,
  markSkipped,
  encodeMessageBody,
  batchRoom,
  exceedsBytes,
  fitBatch,
  joinMessageBody,
  messageBodyHead,
  PROBE_ANSWER,
  utf8Length,
} from './codec.js'
import { MAX_BATCH_FRAMES, MAX_NAME_LENGTH } from './constants.js'
import { type ErrorCode, SwitchboardError } from './errors.js'
import { type ClientFrame, FrameType, isSequenced, type ServerFrame } from './frame.js'
import type { NegotiateResponse } from './negotiate.js'

/** Runs `fn`, which must throw a SwitchboardError, and returns that error after checking its code. */
function expectError(fn: () => unknown, code: ErrorCode): SwitchboardError {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(SwitchboardError)
  expect((thrown as SwitchboardError).code).toBe(code)
  return thrown as SwitchboardError
}

const batchOf = (...frames: (ClientFrame | ServerFrame)[]) => encodeBatch(frames.map(encodeFrame))

const LONGEST = 'n'.repeat(MAX_NAME_LENGTH)
const TOO_LONG = 'n'.repeat(MAX_NAME_LENGTH + 1)
/** 129 emoji: 129 code points but 258 UTF-16 units, which is what the limit counts. */
const TOO_LONG_EMOJI = '💬'.repeat(129)
const UNICODE = {
  text: 'नमस्ते 👋🏽 שלום — ça va? 日本語',
  zwj: '👩‍👩‍👧‍👦',
  controls: '\u0000\u0001\t\n\r\u001f',
  separators: '\u2028\u2029',
  loneSurrogate: '\ud800',
  quotes: '"\\\'`',
}
const NESTED = { a: [1, [2, [3, [4, { b: { c: { d: [null, true, false, '', 0] } } }]]]], e: {} }

const CLIENT_FRAMES: [string, ClientFrame][] = [
  ['HELLO', [0, 'tok', 0, 1]],
  ['HELLO with an empty token', [0, '', 7, 1]],
  ['HELLO with a unicode token', [0, UNICODE.text, 0, 1]],
  ['ACK 0', [2, 0]],
  ['ACK at MAX_SAFE_INTEGER', [2, Number.MAX_SAFE_INTEGER]],
  ['PING', [3]],
  ['PONG', [4]],
  ['SUBSCRIBE from the start', [10, 1, 'room:1', null]],
  ['SUBSCRIBE with the 20 latest messages first', [10, 1, 'room:1', null, 20]],
  ['SUBSCRIBE since offset 0 of an epoch', [10, 1, 'room:1', [0, 'e1']]],
  ['SUBSCRIBE with the longest name and epoch', [10, 2, LONGEST, [42, LONGEST]]],
  ['SUBSCRIBE with a unicode epoch at MAX_SAFE_INTEGER', [10, 2, 'room:1', [Number.MAX_SAFE_INTEGER, '纪元💬']]],
  ['UNSUBSCRIBE', [11, 3, 'room:1']],
  ['UNSUBSCRIBE with a one-character name', [11, 3, 'x']],
  ['PUBLISH with nested data', [12, 4, 'room:1', NESTED]],
  ['PUBLISH with unicode everywhere', [12, 5, '💬 général', UNICODE]],
  ['PUBLISH with null data', [12, 6, 'room:1', null]],
  ['PUBLISH with a huge number', [12, 7, 'room:1', Number.MAX_VALUE]],
  ['PUBLISH with a tiny number', [12, 7, 'room:1', Number.MIN_VALUE]],
  ['PUBLISH with an array', [12, 8, 'room:1', [1, 'two', { three: 3 }]]],
  ['CALL', [13, 9, 'math.add', { a: 1, b: 2 }]],
  ['CALL with a string', [13, 10, 'echo', '']],
]

/** A negotiate answer, as a WELCOME of a line that negotiated as it opened carries it. */
const ANSWER: NegotiateResponse = {
  version: 1,
  sessionId: 's1',
  resumeToken: 't1',
  transports: ['websocket', 'sse'],
  heartbeatMs: 25_000,
  recoveryMs: 30_000,
  pollTimeoutMs: 25_000,
  maxMessageBytes: 1 << 20,
  maxBatchBytes: 1 << 20,
  maxBatchFrames: 512,
}

const SERVER_FRAMES: [string, ServerFrame][] = [
  ['WELCOME', [1, 0]],
  ['WELCOME at MAX_SAFE_INTEGER', [1, Number.MAX_SAFE_INTEGER]],
  ['WELCOME with the negotiate answer', [1, 0, ANSWER]],
  [
    'WELCOME with an answer that gives what the server holds unprocessed',
    [1, 0, { ...ANSWER, maxPendingRequests: 10_000, maxPendingBytes: 16 << 20 }],
  ],
  ['ACK', [2, 12]],
  ['PING', [3]],
  ['PONG', [4]],
  ['CLOSE without reconnect', [5, 'SERVER_SHUTDOWN', 'bye', null]],
  ['CLOSE with reconnect 0', [5, 'SUPERSEDED', '', 0]],
  ['CLOSE with a unicode message', [5, 'INTERNAL', UNICODE.text, 1500]],
  ['MESSAGE', [20, 1, 'room:1', { text: 'hi' }, 0]],
  ['MESSAGE with the longest name', [20, 2, LONGEST, null, Number.MAX_SAFE_INTEGER]],
  ['MESSAGE with nested unicode data', [20, 3, '💬', { deep: NESTED, u: UNICODE }, 9]],
  ['MESSAGE that replaced the ones before it', [20, 4, 'prices', 7, 40, 12]],
  ['GAP', [22, 5, 'room:1', 4, 9]],
  ['GAP of one offset', [22, 6, LONGEST, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]],
  ['REPLY ok', [21, 4, 13, null, { sum: 3 }]],
  ['REPLY ok with null result', [21, 5, 0, null, null]],
  ['REPLY error without data', [21, 6, 14, 'RPC_ERROR', 'boom']],
  ['REPLY error with data', [21, 7, 15, 'FORBIDDEN', 'no', { field: 'x' }]],
]

describe('encodeFrame + decodeClientBatch', () => {
  it.each(CLIENT_FRAMES)('round-trips %s', (_label, frame) => {
    expect(decodeClientBatch(batchOf(frame))).toEqual([frame])
  })

  it('round-trips every client frame in one batch, in order', () => {
    const frames = CLIENT_FRAMES.map(([, f]) => f)
    expect(decodeClientBatch(batchOf(...frames))).toEqual(frames)
  })

  it('encodes compact JSON', () => {
    expect(encodeFrame([12, 4, 'room:1', { a: [1, 2] }])).toBe('[12,4,"room:1",{"a":[1,2]}]')
    expect(encodeFrame([3])).toBe('[3]')
  })

  it('turns undefined data into null', () => {
    const text = encodeFrame([12, 1, 'room:1', undefined])
    expect(text).toBe('[12,1,"room:1",null]')
    expect(decodeClientBatch(encodeBatch([text]))).toEqual([[12, 1, 'room:1', null]])
    expect(decodeClientBatch(batchOf([13, 2, 'm', undefined]))).toEqual([[13, 2, 'm', null]])
  })

  it('drops undefined object fields and nulls undefined array items inside data, as JSON does', () => {
    const frame: ClientFrame = [12, 1, 'c', { keep: 1, gone: undefined, list: [undefined, 2] }]
    expect(decodeClientBatch(batchOf(frame))).toEqual([[12, 1, 'c', { keep: 1, list: [null, 2] }]])
  })

  it('turns non-finite numbers in data into null', () => {
    const frame: ClientFrame = [12, 1, 'c', [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]]
    expect(decodeClientBatch(batchOf(frame))).toEqual([[12, 1, 'c', [null, null, null]]])
  })

  it('keeps a lone surrogate in a channel name and data', () => {
    const frame: ClientFrame = [12, 1, `a${UNICODE.loneSurrogate}b`, UNICODE.loneSurrogate]
    const text = encodeFrame(frame)
    expect(text).toContain('\\ud800')
    expect(decodeClientBatch(encodeBatch([text]))).toEqual([frame])
  })

  it('accepts whitespace anywhere JSON allows it', () => {
    expect(decodeClientBatch(' \n[ [ 3 ] ,\t[2 , 5] ,[10,1,"c",\r\nnull] ]\n ')).toEqual([[3], [2, 5], [10, 1, 'c', null]])
  })

  it('accepts integral numbers written with an exponent or a zero fraction', () => {
    expect(decodeClientBatch('[[2,1e3],[2,5.0]]')).toEqual([
      [2, 1000],
      [2, 5],
    ])
  })

  itProp.prop([fc.string({ unit: 'binary', minLength: 1, maxLength: MAX_NAME_LENGTH / 2 }), fc.jsonValue(), fc.maxSafeNat()])(
    'round-trips any JSON data on any valid channel name',
    (channel, data, seq) => {
      const expected = JSON.parse(JSON.stringify(data)) as unknown
      expect(decodeClientBatch(batchOf([12, seq, channel, data]))).toEqual([[12, seq, channel, expected]])
      expect(decodeClientBatch(batchOf([13, seq, channel, data]))).toEqual([[13, seq, channel, expected]])
    },
  )
})

describe('encodeFrame + decodeServerBatch', () => {
  it.each(SERVER_FRAMES)('round-trips %s', (_label, frame) => {
    expect(decodeServerBatch(batchOf(frame))).toEqual([frame])
  })

  it('round-trips every server frame in one batch, in order', () => {
    const frames = SERVER_FRAMES.map(([, f]) => f)
    expect(decodeServerBatch(batchOf(...frames))).toEqual(frames)
  })

  it('turns undefined REPLY error data into null, still a valid 6-element REPLY', () => {
    expect(decodeServerBatch(batchOf([21, 1, 2, 'TIMEOUT', 'late', undefined]))).toEqual([[21, 1, 2, 'TIMEOUT', 'late', null]])
  })

  it('has no frame limit: servers may send big batches', () => {
    const frames = Array.from({ length: 10_000 }, (_, i) => encodeMessage(i + 1, encodeMessageBody('c', i, i)))
    const decoded = decodeServerBatch(encodeBatch(frames))
    expect(decoded).toHaveLength(10_000)
    expect(decoded[9_999]).toEqual([20, 10_000, 'c', 9_999, 9_999])
  })
})

describe('encodeBatch', () => {
  it('encodes an empty batch as [] and both sides decode it to no frames', () => {
    expect(encodeBatch([])).toBe('[]')
    expect(decodeClientBatch('[]')).toEqual([])
    expect(decodeServerBatch('[]')).toEqual([])
    expect(decodeClientBatch('[]', 0)).toEqual([])
  })

  it('wraps one frame and joins many with commas', () => {
    expect(encodeBatch(['[3]'])).toBe('[[3]]')
    expect(encodeBatch(['[3]', '[4]', '[2,9]'])).toBe('[[3],[4],[2,9]]')
  })

  it('leaves the list it is given as it was', () => {
    const frames = ['[3]', '[4]']
    expect(encodeBatch(frames)).toBe('[[3],[4]]')
    expect(frames).toEqual(['[3]', '[4]'])
  })

  it('passes frames through verbatim, without re-encoding them', () => {
    const odd = '[ 12 , 1 , "c" , { "b" : 1 , "a" : 2 } ]'
    expect(encodeBatch([odd])).toBe(`[${odd}]`)
    expect(decodeClientBatch(encodeBatch([odd, '[3]']))).toEqual([[12, 1, 'c', { b: 1, a: 2 }], [3]])
  })

  itProp.prop([fc.array(fc.jsonValue(), { maxLength: 20 })])('matches JSON.stringify of the decoded frames', (values) => {
    const frames = values.map((v) => JSON.stringify(v))
    expect(encodeBatch(frames)).toBe(JSON.stringify(values))
  })
})

describe('joinControl', () => {
  it('is the ack alone, as it is, when nothing else is queued', () => {
    const ack = encodeAck(7)
    expect(joinControl([], ack)).toBe(ack)
    expect(joinControl([], '')).toBe('')
  })

  it('puts the queued control frames first, then the ack', () => {
    expect(joinControl(['[1,0]'], '[2,7]')).toBe('[1,0],[2,7]')
    expect(joinControl(['[1,0]', '[4]'], '[2,7]')).toBe('[1,0],[4],[2,7]')
    expect(joinControl(['[3]'], '')).toBe('[3]')
    expect(wrapBatch(joinControl(['[3]', '[4]'], '[2,1]'), '')).toBe(encodeBatch(['[3]', '[4]', '[2,1]']))
  })
})

describe('wrapBatch', () => {
  it('puts the control frames first, then the data frames, in one batch', () => {
    expect(wrapBatch('[2,7]', '[21,3,5,null,1]')).toBe('[[2,7],[21,3,5,null,1]]')
    expect(wrapBatch('[1,0],[2,7]', '[20,1,"a",1,1],[20,2,"a",2,2]')).toBe('[[1,0],[2,7],[20,1,"a",1,1],[20,2,"a",2,2]]')
  })

  it('is the batch of either side alone, and [] of neither', () => {
    expect(wrapBatch('', '[3],[4]')).toBe('[[3],[4]]')
    expect(wrapBatch('[3]', '')).toBe('[[3]]')
    expect(wrapBatch('', '')).toBe('[]')
  })

  itProp.prop([fc.array(fc.jsonValue(), { maxLength: 6 }), fc.array(fc.jsonValue(), { maxLength: 6 })])(
    'matches encodeBatch of the two lists joined',
    (control, data) => {
      const c = control.map((v) => JSON.stringify(v))
      const d = data.map((v) => JSON.stringify(v))
      expect(wrapBatch(c.join(','), d.join(','))).toBe(encodeBatch([...c, ...d]))
    },
  )
})

describe('encodeMessageBody + encodeMessage', () => {
  it('encodes the per-publish part once, as a bracketless JSON list', () => {
    expect(encodeMessageBody('room:1', { text: 'hi' }, 7)).toBe('"room:1",{"text":"hi"},7')
  })

  it('wraps one body with each session own seq, byte-identical to encodeFrame', () => {
    const body = encodeMessageBody('room:1', { text: 'hi' }, 7)
    for (const seq of [1, 2, 99, Number.MAX_SAFE_INTEGER]) {
      const text = encodeMessage(seq, body)
      expect(text).toBe(encodeFrame([20, seq, 'room:1', { text: 'hi' }, 7]))
      expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, seq, 'room:1', { text: 'hi' }, 7]])
    }
  })

  it('turns undefined data into null', () => {
    const body = encodeMessageBody('c', undefined, 0)
    expect(body).toBe('"c",null,0')
    expect(decodeServerBatch(`[${encodeMessage(1, body)}]`)).toEqual([[20, 1, 'c', null, 0]])
  })

  it('keeps unicode and nested data', () => {
    const data = { u: UNICODE, n: NESTED }
    const text = encodeMessage(3, encodeMessageBody('💬 général', data, 11))
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, 3, '💬 général', data, 11]])
  })

  it('keeps huge finite numbers in data and the largest safe offset', () => {
    const data = [Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64]
    const text = encodeMessage(1, encodeMessageBody('c', data, Number.MAX_SAFE_INTEGER))
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, 1, 'c', data, Number.MAX_SAFE_INTEGER]])
  })

  it('mixes pre-encoded messages with other frames in one batch', () => {
    const body = encodeMessageBody('c', 1, 1)
    const batch = encodeBatch([encodeFrame([2, 4]), encodeMessage(5, body), encodeFrame([3]), encodeMessage(6, body)])
    expect(decodeServerBatch(batch)).toEqual([[2, 4], [20, 5, 'c', 1, 1], [3], [20, 6, 'c', 1, 1]])
  })

  it.each([
    ['a negative seq', -1],
    ['a fractional seq', 1.5],
    ['a seq past MAX_SAFE_INTEGER', 2 ** 53],
    ['a seq printed with an exponent', 1e21],
    ['a NaN seq', Number.NaN],
    ['an infinite seq', Number.POSITIVE_INFINITY],
  ])('produces a frame the decoder rejects for %s', (_label, seq) => {
    expectError(() => decodeServerBatch(`[${encodeMessage(seq, encodeMessageBody('c', 1, 1))}]`), 'MALFORMED_FRAME')
  })

  it.each([
    ['a negative offset', -1],
    ['a fractional offset', 0.5],
    ['a NaN offset', Number.NaN],
    ['an infinite offset', Number.POSITIVE_INFINITY],
  ])('produces a frame the decoder rejects for %s', (_label, offset) => {
    expectError(() => decodeServerBatch(`[${encodeMessage(1, encodeMessageBody('c', 1, offset))}]`), 'MALFORMED_FRAME')
  })

  itProp.prop([
    fc.maxSafeNat(),
    fc.string({ unit: 'binary', minLength: 1, maxLength: MAX_NAME_LENGTH / 2 }),
    fc.option(fc.jsonValue(), { nil: undefined }),
    fc.maxSafeNat(),
  ])('always equals encodeFrame of the same MESSAGE and decodes back', (seq, channel, data, offset) => {
    const text = encodeMessage(seq, encodeMessageBody(channel, data, offset))
    expect(text).toBe(encodeFrame([20, seq, channel, data, offset]))
    const expected = data === undefined ? null : (JSON.parse(JSON.stringify(data)) as unknown)
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, seq, channel, expected, offset]])
  })
})

describe('encodeChannelFrame + markSkipped + encodeGapBody', () => {
  it('wraps a MESSAGE body exactly as encodeMessage does', () => {
    const body = encodeMessageBody('room:1', { text: 'hi' }, 7)
    expect(encodeChannelFrame(FrameType.MESSAGE, 3, body)).toBe(encodeMessage(3, body))
  })

  it('marks a MESSAGE as replacing the messages before it', () => {
    const text = encodeChannelFrame(FrameType.MESSAGE, 4, markSkipped(encodeMessageBody('prices', { p: 1 }, 40), 12))
    expect(text).toBe(encodeFrame([20, 4, 'prices', { p: 1 }, 40, 12]))
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, 4, 'prices', { p: 1 }, 40, 12]])
  })

  it('encodes a GAP that decodes back', () => {
    const text = encodeChannelFrame(FrameType.GAP, 9, encodeGapBody('💬 général', 4, 8))
    expect(text).toBe(encodeFrame([22, 9, '💬 général', 4, 8]))
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[22, 9, '💬 général', 4, 8]])
  })
})

describe('encodeData + joinMessageBody', () => {
  it('encodes data once as JSON, undefined as null', () => {
    expect(encodeData({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}')
    expect(encodeData(undefined)).toBe('null')
    expect(encodeData(null)).toBe('null')
    expect(encodeData('💬')).toBe('"💬"')
    expect(encodeData(Number.NaN)).toBe('null')
  })

  it('joins a channel, pre-encoded data and an offset into the same body encodeMessageBody makes', () => {
    const data = { u: UNICODE, n: NESTED }
    expect(joinMessageBody('💬 "quoted"', encodeData(data), 12)).toBe(encodeMessageBody('💬 "quoted"', data, 12))
    expect(joinMessageBody('c', encodeData(undefined), 0)).toBe('"c",null,0')
  })

  it('leaves the offset to whoever numbers the message: messageBodyHead plus the offset is the joined body', () => {
    const dataJson = encodeData({ u: UNICODE })
    expect(messageBodyHead('💬 "quoted"', dataJson) + 12).toBe(joinMessageBody('💬 "quoted"', dataJson, 12))
  })

  it('reuses one encoded payload for many channels, offsets and seqs', () => {
    const dataJson = encodeData({ text: 'hi' })
    const batch = encodeBatch([encodeMessage(1, joinMessageBody('a', dataJson, 5)), encodeMessage(2, joinMessageBody('b', dataJson, 0))])
    expect(decodeServerBatch(batch)).toEqual([
      [20, 1, 'a', { text: 'hi' }, 5],
      [20, 2, 'b', { text: 'hi' }, 0],
    ])
  })

  // JSON.stringify answers undefined for these; without the fallback the MESSAGE frame would not be JSON.
  it.each<[string, unknown]>([
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a value whose toJSON returns undefined', { toJSON: () => undefined }],
  ])('encodes %s as null, like encodeFrame', (_label, data) => {
    expect(encodeData(data)).toBe('null')
    const text = encodeMessage(1, encodeMessageBody('c', data, 1))
    expect(text).toBe(encodeFrame([20, 1, 'c', data, 1]))
    expect(decodeServerBatch(encodeBatch([text]))).toEqual([[20, 1, 'c', null, 1]])
  })
})

describe('utf8Length + exceedsBytes', () => {
  it.each<[string, string, number]>([
    ['empty', '', 0],
    ['ASCII', 'hello', 5],
    ['2-byte characters', 'éß', 4],
    ['3-byte characters', '€日本', 9],
    ['a 4-byte character (a surrogate pair)', '💬', 4],
    ['a ZWJ emoji sequence', '👩‍👩‍👧', 18],
    ['the edges of each width', '\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}', 1 + 2 + 2 + 3 + 3 + 4 + 4],
    ['a lone low surrogate (encoded as U+FFFD)', '\udc00', 3],
    ['a lone high surrogate at the end', 'a\ud800', 4],
  ])('counts %s', (_label, s, bytes) => {
    expect(utf8Length(s)).toBe(bytes)
    expect(Buffer.byteLength(s, 'utf8')).toBe(bytes)
  })

  // A high surrogate only pairs with a following low surrogate; alone it is encoded as U+FFFD (3 bytes).
  it('counts a lone high surrogate before a non-ASCII character as the wire does', () => {
    expect(utf8Length('\ud800é')).toBe(Buffer.byteLength('\ud800é', 'utf8'))
    expect(utf8Length('\ud800\ud800')).toBe(Buffer.byteLength('\ud800\ud800', 'utf8'))
  })

  itProp.prop([fc.string({ unit: 'binary', maxLength: 200 })])('agrees with Buffer.byteLength on well-formed strings', (s) => {
    expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'))
  })

  it.each<[string, string, number, boolean]>([
    ['ASCII exactly at the limit', 'a'.repeat(10), 10, false],
    ['ASCII one over the limit', 'a'.repeat(11), 10, true],
    ['3-byte characters exactly at the limit', '€'.repeat(4), 12, false],
    ['3-byte characters one byte over', '€'.repeat(4), 11, true],
    ['emoji exactly at the limit', '💬'.repeat(3), 12, false],
    ['emoji one byte over', '💬'.repeat(3), 11, true],
    ['an empty string at limit 0', '', 0, false],
    ['one byte at limit 0', 'a', 0, true],
  ])('decides %s', (_label, s, limit, exceeds) => {
    expect(exceedsBytes(s, limit)).toBe(exceeds)
  })

  itProp.prop([fc.string({ unit: 'binary', maxLength: 100 }), fc.nat({ max: 500 })])(
    'says a string exceeds a limit exactly when its UTF-8 length does',
    (s, limit) => {
      expect(exceedsBytes(s, limit)).toBe(Buffer.byteLength(s, 'utf8') > limit)
    },
  )
})

describe('encodeAck', () => {
  it.each([0, 1, 42, 2 ** 53 - 1])('matches encodeFrame for ACK %i and decodes as one', (n) => {
    expect(encodeAck(n)).toBe(encodeFrame([FrameType.ACK, n]))
    expect(decodeServerBatch(encodeBatch([encodeAck(n)]))).toEqual([[FrameType.ACK, n]])
  })
})

describe('PROBE_ANSWER', () => {
  it('is a batch of one PONG that both sides decode', () => {
    expect(PROBE_ANSWER).toBe(encodeBatch([encodeFrame([FrameType.PONG])]))
    expect(decodeServerBatch(PROBE_ANSWER)).toEqual([[FrameType.PONG]])
    expect(decodeClientBatch(PROBE_ANSWER)).toEqual([[FrameType.PONG]])
  })
})

describe('fitBatch + batchRoom', () => {
  const bytesOf = (frames: string[]) => Buffer.byteLength(encodeBatch(frames))

  it('takes every frame when the batch fits, without measuring', () => {
    const frames = ['[1]', '[2]', '[3]']
    let measured = 0
    const count = (x: string) => (measured++, Buffer.byteLength(x))
    expect(fitBatch(frames, 0, 3, 1_000, count)).toBe(3)
    expect(measured).toBe(0)
  })

  it('cuts exactly at the byte limit, brackets and commas included', () => {
    const frames = ['"aaaa"', '"bbbb"', '"cccc"'] // 6 bytes each: [a,b] is 15, [a,b,c] is 22
    expect(fitBatch(frames, 0, 3, 22)).toBe(3)
    expect(fitBatch(frames, 0, 3, 21)).toBe(2)
    expect(fitBatch(frames, 0, 3, 15)).toBe(2)
    expect(fitBatch(frames, 0, 3, 14)).toBe(1)
    expect(fitBatch(frames, 1, 3, 15)).toBe(3)
  })

  it('counts multi-byte characters as their UTF-8 bytes', () => {
    const frames = ['"€€"', '"€€"'] // 8 bytes each, 4 UTF-16 units: [x,y] is 19 bytes
    expect(fitBatch(frames, 0, 2, 19)).toBe(2)
    expect(fitBatch(frames, 0, 2, 18)).toBe(1)
  })

  it('measures a run of small ASCII frames in one call on its join, and cuts where their characters stop fitting', () => {
    const frames = Array.from({ length: 100 }, (_, i) => `[13,${i},"echo","${'x'.repeat(20)}"]`)
    const measured: number[] = []
    const count = (x: string) => (measured.push(x.length), Buffer.byteLength(x))
    const cut = fitBatch(frames, 0, 100, 1_000, count)
    expect(measured).toHaveLength(1)
    expect(bytesOf(frames.slice(0, cut))).toBeLessThanOrEqual(1_000)
    expect(bytesOf(frames.slice(0, cut + 1))).toBeGreaterThan(1_000)
    // One non-ASCII frame in that run: each frame is measured, and the cut is exact again.
    frames[3] = '"€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€"'
    measured.length = 0
    const exact = fitBatch(frames, 0, 100, 1_000, count)
    expect(measured.length).toBeGreaterThan(1)
    expect(bytesOf(frames.slice(0, exact))).toBeLessThanOrEqual(1_000)
    expect(bytesOf(frames.slice(0, exact + 1))).toBeGreaterThan(1_000)
  })

  it('always takes one frame, even one over the limit, and nothing from an empty range', () => {
    expect(fitBatch([`"${'x'.repeat(100)}"`, '1'], 0, 2, 10)).toBe(1)
    expect(fitBatch(['1'], 1, 1, 10)).toBe(1)
  })

  it('leaves room for the control frames already in the batch', () => {
    const control = ['[2,17]', '[4]'] // 6 + 3 bytes, plus a comma each
    expect(batchRoom(100, control.join(','))).toBe(100 - 7 - 4)
    expect(batchRoom(100, '')).toBe(100)
    const data = ['"aaaa"', '"bbbb"']
    const cut = fitBatch(data, 0, 2, batchRoom(20, control.join(',')))
    expect(bytesOf([...control, ...data.slice(0, cut)])).toBeLessThanOrEqual(20)
    expect(bytesOf([...control, ...data.slice(0, cut + 1)])).toBeGreaterThan(20)
  })

  itProp.prop([fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 600 })])(
    'gives the longest run whose batch is within the limit (or one frame)',
    (texts, maxBytes) => expectLongestRun(texts, maxBytes),
  )

  itProp.prop([fc.array(fc.string({ unit: 'binary-ascii', maxLength: 40 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 2, max: 600 })])(
    'gives the same longest run when every frame is ASCII (measured on its join)',
    (texts, maxBytes) => expectLongestRun(texts, maxBytes),
  )

  function expectLongestRun(texts: string[], maxBytes: number): void {
    const frames = texts.map((t) => JSON.stringify(t))
    const end = fitBatch(frames, 0, frames.length, maxBytes)
    expect(end).toBeGreaterThanOrEqual(1)
    expect(end).toBeLessThanOrEqual(frames.length)
    if (end > 1) expect(bytesOf(frames.slice(0, end))).toBeLessThanOrEqual(maxBytes)
    if (end < frames.length) expect(bytesOf(frames.slice(0, end + 1))).toBeGreaterThan(maxBytes)
  }
})

describe('isSequenced', () => {
  it.each(Object.entries(FrameType))('says %s (%i) is sequenced exactly when its type is 10 or more', (_name, type) => {
    const frame = [type] as unknown as ClientFrame
    expect(isSequenced(frame)).toBe(type >= 10)
  })

  it('holds for real frames of both directions', () => {
    expect(CLIENT_FRAMES.filter(([, f]) => isSequenced(f)).map(([, f]) => f[0])).toEqual([10, 10, 10, 10, 10, 11, 11, 12, 12, 12, 12, 12, 12, 13, 13])
    expect(SERVER_FRAMES.filter(([, f]) => isSequenced(f)).every(([, f]) => f[0] === 20 || f[0] === 21 || f[0] === 22)).toBe(true)
    expect(SERVER_FRAMES.filter(([, f]) => !isSequenced(f)).map(([, f]) => f[0])).toEqual([1, 1, 1, 1, 2, 3, 4, 5, 5, 5])
  })
})

describe('README', () => {
  it('README quick start: encodes a batch, decodes it and reports a bad frame by code', () => {
    const text = encodeBatch([encodeFrame([10, 1, 'room:1', null]), encodeFrame([12, 2, 'room:1', { text: 'hi' }])])
    expect(text).toBe('[[10,1,"room:1",null],[12,2,"room:1",{"text":"hi"}]]')

    const frames = decodeClientBatch(text)
    expect(frames[1]).toEqual([12, 2, 'room:1', { text: 'hi' }])

    const { code, status, closeCode } = expectError(() => decodeClientBatch('[[12,3,"",null]]'), 'MALFORMED_FRAME')
    expect([code, status, closeCode]).toEqual(['MALFORMED_FRAME', 400, 4001])
  })

  it('lists every frame type with its number and whether it is sequenced', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const rows = [...readme.matchAll(/^\| (\d+) \| `([A-Z]+)` \|.*\| (yes|no) \|$/gm)].map((m) => [m[2], Number(m[1]), m[3] === 'yes'])
    expect(rows).toEqual(Object.entries(FrameType).map(([name, type]) => [name, type, type >= 10]))
  })
})

describe('decodeClientBatch rejects', () => {
  it.each([
    ['an empty string', ''],
    ['plain text', 'hello'],
    ['an unclosed array', '[[3]'],
    ['a trailing comma', '[[3],]'],
    ['trailing garbage', '[[3]]x'],
    ['two batches glued together', '[[3]][[4]]'],
    ['single quotes', "[['x']]"],
    ['a leading BOM', '\uFEFF[[3]]'],
    ['NaN', '[[2,NaN]]'],
    ['a JS comment', '[[3]] // ping'],
  ])('%s as MALFORMED_FRAME with the JSON error as cause', (_label, text) => {
    const err = expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
    expect(err.cause).toBeInstanceOf(SyntaxError)
    expect(err.status).toBe(400)
    expect(err.closeCode).toBe(4001)
  })

  it.each([
    ['null', 'null'],
    ['an object', '{"0":[3],"length":1}'],
    ['a string holding a batch', '"[[3]]"'],
    ['a number', '3'],
    ['a boolean', 'true'],
  ])('a batch that is %s as MALFORMED_FRAME', (_label, text) => {
    expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
  })

  it.each([
    ['a bare number', '[3]'],
    ['null', '[null]'],
    ['a string', '["ping"]'],
    ['an object', '[{"type":3}]'],
  ])('a frame that is %s as MALFORMED_FRAME', (_label, text) => {
    expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
  })

  it.each([
    ['an empty frame', '[[]]'],
    ['WELCOME (server only)', '[[1,0]]'],
    ['CLOSE (server only)', '[[5,"INTERNAL","x",null]]'],
    ['MESSAGE (server only)', '[[20,1,"c",null,0]]'],
    ['REPLY (server only)', '[[21,1,1,null,null]]'],
    ['an unused type', '[[6]]'],
    ['a large type', '[[99,1]]'],
    ['a negative type', '[[-1]]'],
    ['a fractional type', '[[3.5]]'],
    ['a type as a string', '[["3"]]'],
    ['a null type', '[[null]]'],
    ['a boolean type', '[[true]]'],
  ])('%s as MALFORMED_FRAME (unknown frame type)', (_label, text) => {
    const err = expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
    expect(err.message).toMatch(/unknown type/)
  })

  it.each([
    ['HELLO with 3 elements', '[[0,"t",0]]'],
    ['HELLO with 5 elements', '[[0,"t",0,1,2]]'],
    ['ACK without ack', '[[2]]'],
    ['ACK with 3 elements', '[[2,1,2]]'],
    ['PING with a payload', '[[3,0]]'],
    ['PONG with a payload', '[[4,null]]'],
    ['SUBSCRIBE without since', '[[10,1,"c"]]'],
    ['SUBSCRIBE with 6 elements', '[[10,1,"c",null,3,0]]'],
    ['SUBSCRIBE with both since and recent', '[[10,1,"c",[1,"e"],3]]'],
    ['SUBSCRIBE with a negative recent', '[[10,1,"c",null,-1]]'],
    ['SUBSCRIBE with a since of 1 element', '[[10,1,"c",[1]]]'],
    ['SUBSCRIBE with a since of 3 elements', '[[10,1,"c",[1,"e",2]]]'],
    ['SUBSCRIBE with an empty since', '[[10,1,"c",[]]]'],
    ['UNSUBSCRIBE without channel', '[[11,1]]'],
    ['UNSUBSCRIBE with 4 elements', '[[11,1,"c",null]]'],
    ['PUBLISH without data', '[[12,1,"c"]]'],
    ['PUBLISH with 5 elements', '[[12,1,"c",1,2]]'],
    ['CALL without data', '[[13,1,"m"]]'],
    ['CALL with 5 elements', '[[13,1,"m",1,2]]'],
  ])('%s as MALFORMED_FRAME (wrong arity)', (_label, text) => {
    expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
  })

  it.each([
    ['HELLO with a numeric token', '[[0,1,0,1]]'],
    ['HELLO with a null token', '[[0,null,0,1]]'],
    ['HELLO with a negative ack', '[[0,"t",-1,1]]'],
    ['HELLO with a string ack', '[[0,"t","0",1]]'],
    ['HELLO with a fractional version', '[[0,"t",0,1.5]]'],
    ['HELLO with a null version', '[[0,"t",0,null]]'],
    ['ACK with a negative ack', '[[2,-1]]'],
    ['ACK with a fractional ack', '[[2,1.5]]'],
    ['ACK with a string ack', '[[2,"1"]]'],
    ['ACK with a null ack', '[[2,null]]'],
    ['ACK past MAX_SAFE_INTEGER', '[[2,9007199254740992]]'],
    ['ACK with an overflowing number', '[[2,1e400]]'],
    ['ACK with a negative fraction', '[[2,-0.5]]'],
    ['SUBSCRIBE with a negative seq', '[[10,-1,"c",null]]'],
    ['SUBSCRIBE with a fractional seq', '[[10,0.5,"c",null]]'],
    ['SUBSCRIBE with a numeric channel', '[[10,1,7,null]]'],
    ['SUBSCRIBE with an empty channel', '[[10,1,"",null]]'],
    ['SUBSCRIBE with a bare offset as since', '[[10,1,"c",0]]'],
    ['SUBSCRIBE with a string since', '[[10,1,"c","0"]]'],
    ['SUBSCRIBE with a boolean since', '[[10,1,"c",false]]'],
    ['SUBSCRIBE with an object since', '[[10,1,"c",{"offset":1,"epoch":"e"}]]'],
    ['SUBSCRIBE with a negative since offset', '[[10,1,"c",[-1,"e"]]]'],
    ['SUBSCRIBE with a fractional since offset', '[[10,1,"c",[1.5,"e"]]]'],
    ['SUBSCRIBE with a string since offset', '[[10,1,"c",["1","e"]]]'],
    ['SUBSCRIBE with a null since offset', '[[10,1,"c",[null,"e"]]]'],
    ['SUBSCRIBE with a numeric epoch', '[[10,1,"c",[1,2]]]'],
    ['SUBSCRIBE with a null epoch', '[[10,1,"c",[1,null]]]'],
    ['SUBSCRIBE with since items swapped', '[[10,1,"c",["e",1]]]'],
    ['UNSUBSCRIBE with a null channel', '[[11,1,null]]'],
    ['UNSUBSCRIBE with an array channel', '[[11,1,["c"]]]'],
    ['PUBLISH with a string seq', '[[12,"1","c",1]]'],
    ['PUBLISH with a null seq', '[[12,null,"c",1]]'],
    ['PUBLISH with a huge seq', '[[12,1e20,"c",1]]'],
    ['PUBLISH with an empty channel', '[[12,1,"",1]]'],
    ['CALL with a numeric method', '[[13,1,42,{}]]'],
    ['CALL with an object method', '[[13,1,{"m":1},{}]]'],
  ])('%s as MALFORMED_FRAME (wrong field type)', (_label, text) => {
    expectError(() => decodeClientBatch(text), 'MALFORMED_FRAME')
  })

  it.each<[string, ClientFrame]>([
    ['SUBSCRIBE', [10, 1, TOO_LONG, null]],
    ['UNSUBSCRIBE', [11, 1, TOO_LONG]],
    ['PUBLISH', [12, 1, TOO_LONG, 1]],
    ['CALL', [13, 1, TOO_LONG, 1]],
    ['SUBSCRIBE epoch', [10, 1, 'c', [0, TOO_LONG]]],
    ['PUBLISH, counted in UTF-16 units', [12, 1, TOO_LONG_EMOJI, 1]],
  ])('a %s name longer than MAX_NAME_LENGTH as MALFORMED_FRAME', (_label, frame) => {
    expectError(() => decodeClientBatch(batchOf(frame)), 'MALFORMED_FRAME')
  })

  it('the whole batch when a single frame in it is bad', () => {
    expectError(() => decodeClientBatch('[[3],[2,1],[12,1,"",0],[4]]'), 'MALFORMED_FRAME')
  })

  it('every strict prefix of a valid batch as MALFORMED_FRAME', () => {
    const text = batchOf([0, 'tök', 0, 1], [10, 1, '💬', null], [12, 2, '💬', { u: UNICODE }], [2, 9])
    expect(decodeClientBatch(text)).toHaveLength(4)
    for (let cut = 0; cut < text.length; cut++) {
      expectError(() => decodeClientBatch(text.slice(0, cut)), 'MALFORMED_FRAME')
    }
  })
})

describe('decodeClientBatch frame limit', () => {
  const pings = (n: number) => encodeBatch(Array.from({ length: n }, () => '[3]'))

  it('accepts exactly MAX_BATCH_FRAMES frames', () => {
    expect(decodeClientBatch(pings(MAX_BATCH_FRAMES))).toHaveLength(MAX_BATCH_FRAMES)
  })

  it('rejects one frame more as BATCH_TOO_LARGE', () => {
    const err = expectError(() => decodeClientBatch(pings(MAX_BATCH_FRAMES + 1)), 'BATCH_TOO_LARGE')
    expect(err.status).toBe(413)
    expect(err.closeCode).toBe(4003)
    expect(err.message).toContain(String(MAX_BATCH_FRAMES + 1))
  })

  it('honours a smaller maxFrames', () => {
    expect(decodeClientBatch(pings(3), 3)).toHaveLength(3)
    expectError(() => decodeClientBatch(pings(3), 2), 'BATCH_TOO_LARGE')
    expectError(() => decodeClientBatch(pings(1), 0), 'BATCH_TOO_LARGE')
  })

  it('counts frames before validating them', () => {
    const bad = encodeBatch(Array.from({ length: MAX_BATCH_FRAMES + 1 }, () => '"junk"'))
    expectError(() => decodeClientBatch(bad), 'BATCH_TOO_LARGE')
  })

  it('still reports MALFORMED_FRAME for an oversized text that is not JSON', () => {
    expectError(() => decodeClientBatch(`${pings(MAX_BATCH_FRAMES + 1)},`), 'MALFORMED_FRAME')
  })
})

describe('decodeServerBatch rejects', () => {
  it.each([
    ['not JSON', '[[3]'],
    ['not an array', '{"frames":[]}'],
    ['a frame that is not an array', '[3]'],
    ['HELLO (client only)', '[[0,"t",0,1]]'],
    ['SUBSCRIBE (client only)', '[[10,1,"c",null]]'],
    ['UNSUBSCRIBE (client only)', '[[11,1,"c"]]'],
    ['PUBLISH (client only)', '[[12,1,"c",1]]'],
    ['CALL (client only)', '[[13,1,"m",1]]'],
    ['an unknown type', '[[23,1]]'],
    ['a string type', '[["20",1,"c",null,0]]'],
    ['WELCOME without ack', '[[1]]'],
    ['WELCOME with a negative ack', '[[1,-1]]'],
    ['WELCOME with a string ack', '[[1,"0"]]'],
    ['WELCOME whose answer has a negative maxPendingRequests', `[[1,0,${JSON.stringify({ ...ANSWER, maxPendingRequests: -1 })}]]`],
    ['WELCOME whose answer has a string maxPendingBytes', `[[1,0,${JSON.stringify({ ...ANSWER, maxPendingBytes: '1' })}]]`],
    ['ACK with a fractional ack', '[[2,0.5]]'],
    ['PING with a payload', '[[3,1]]'],
    ['PONG with a payload', '[[4,1]]'],
    ['CLOSE with an unknown code', '[[5,"NOPE","x",null]]'],
    ['CLOSE with a close code instead of a code', '[[5,4001,"x",null]]'],
    ['CLOSE with a numeric message', '[[5,"INTERNAL",1,null]]'],
    ['CLOSE with a negative reconnectMs', '[[5,"INTERNAL","x",-1]]'],
    ['CLOSE with a string reconnectMs', '[[5,"INTERNAL","x","1000"]]'],
    ['CLOSE with a fractional reconnectMs', '[[5,"INTERNAL","x",1.5]]'],
    ['CLOSE without reconnectMs', '[[5,"INTERNAL","x"]]'],
    ['CLOSE with 5 elements', '[[5,"INTERNAL","x",null,1]]'],
    ['MESSAGE without offset', '[[20,1,"c",null]]'],
    ['MESSAGE that replaced none', '[[20,1,"c",null,0,0]]'],
    ['MESSAGE with a negative skipped count', '[[20,1,"c",null,5,-1]]'],
    ['MESSAGE with a fractional skipped count', '[[20,1,"c",null,5,1.5]]'],
    ['MESSAGE with a null skipped count', '[[20,1,"c",null,5,null]]'],
    ['MESSAGE with 7 elements', '[[20,1,"c",null,5,1,1]]'],
    ['GAP without its end', '[[22,1,"c",4]]'],
    ['GAP from offset 0', '[[22,1,"c",0,3]]'],
    ['GAP that ends before it starts', '[[22,1,"c",5,4]]'],
    ['GAP with a fractional offset', '[[22,1,"c",1,2.5]]'],
    ['GAP with an empty channel', '[[22,1,"",1,2]]'],
    ['GAP with a null start', '[[22,1,"c",null,2]]'],
    ['GAP with 6 elements', '[[22,1,"c",1,2,3]]'],
    ['MESSAGE with a negative seq', '[[20,-1,"c",null,0]]'],
    ['MESSAGE with an empty channel', '[[20,1,"",null,0]]'],
    ['MESSAGE with a too-long channel', `[[20,1,"${TOO_LONG}",null,0]]`],
    ['MESSAGE with a null offset', '[[20,1,"c",null,null]]'],
    ['MESSAGE with a fractional offset', '[[20,1,"c",null,1.5]]'],
    ['REPLY with only a type', '[[21]]'],
    ['REPLY with a string seq', '[[21,"1",1,null,null]]'],
    ['REPLY with a negative ref', '[[21,1,-1,null,null]]'],
    ['REPLY ok without result', '[[21,1,1,null]]'],
    ['REPLY ok with 6 elements', '[[21,1,1,null,1,2]]'],
    ['REPLY error with an unknown code', '[[21,1,1,"NOPE","x"]]'],
    ['REPLY error with a numeric code', '[[21,1,1,4012,"x"]]'],
    ['REPLY error without message', '[[21,1,1,"RPC_ERROR"]]'],
    ['REPLY error with a non-string message', '[[21,1,1,"RPC_ERROR",{"m":1}]]'],
    ['REPLY error with 7 elements', '[[21,1,1,"RPC_ERROR","x",null,1]]'],
  ])('%s as MALFORMED_FRAME', (_label, text) => {
    expectError(() => decodeServerBatch(text), 'MALFORMED_FRAME')
  })
})

describe('decoding untrusted text', () => {
  const frameish = fc.array(fc.oneof(fc.integer({ min: -2, max: 25 }), fc.string(), fc.constant(null), fc.jsonValue()), {
    maxLength: 7,
  })
  const text = fc.oneof(
    fc.string(),
    fc.json(),
    fc.array(frameish, { maxLength: 6 }).map((b) => JSON.stringify(b)),
    fc.array(frameish, { maxLength: 6 }).map((b) => JSON.stringify(b).slice(0, -1)),
  )

  itProp.prop([text], { numRuns: 500 })('either decodes or throws a SwitchboardError with a codec code', (input) => {
    for (const decode of [(t: string) => decodeClientBatch(t, 4), decodeServerBatch]) {
      try {
        const frames = decode(input)
        expect(Array.isArray(frames)).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(SwitchboardError)
        expect(['MALFORMED_FRAME', 'BATCH_TOO_LARGE']).toContain((err as SwitchboardError).code)
      }
    }
  })
})
