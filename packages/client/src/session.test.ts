import { fc, it as itProp } from '@fast-check/vitest'
import {
  ACK_DELAY_MS,
  ACK_EVERY_FRAMES,
  decodeClientBatch,
  HTTP_ACK_DELAY_MS,
  FrameType,
  SwitchboardError,
  type ClientFrame,
  type ServerDataFrame,
  type ServerFrame,
  type TransportName,
} from '@switchboard/protocol'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ClientSession } from './session.js'
import type { ClientSessionConfig } from './session-config.js'
import { TRANSPORT_MODULES } from './transports/index.js'
import type { ClientTransport } from './transports/transport.js'

/** An in-memory line: records every batch (decoded and validated) and answers send() with `accept`. */
class FakeTransport implements ClientTransport {
  readonly batches: ClientFrame[][] = []
  accept = true
  constructor(readonly name: TransportName = 'websocket') {}
  get traits() {
    return TRANSPORT_MODULES[this.name].traits
  }
  open(): void {}
  send(batch: string): boolean {
    this.batches.push(decodeClientBatch(batch))
    return this.accept
  }
  attach(): void {}
  pause(): void {}
  close(): void {}
  get frames(): ClientFrame[] {
    return this.batches.flat()
  }
  /** Seqs of the data frames written, in order. */
  get dataSeqs(): number[] {
    return this.frames.flatMap((f) => (f[0] >= 10 ? [f[1] as number] : []))
  }
}

function createSession(overrides: Partial<ClientSessionConfig> = {}) {
  const data: ServerDataFrame[] = []
  const gaps: [number, number][] = []
  const session = new ClientSession({
    maxOutboxFrames: 100,
    maxOutboxBytes: 1_000_000,
    onData: (frame) => void data.push(frame),
    onGap: (seq, expected) => void gaps.push([seq, expected]),
    ...overrides,
  })
  return { session, data, gaps }
}

/** A session attached (server ack 0) to a fake line named `name`. */
function attached(name: TransportName = 'websocket', overrides: Partial<ClientSessionConfig> = {}) {
  const created = createSession(overrides)
  const t = new FakeTransport(name)
  created.session.attach(t, 0)
  return { ...created, t }
}

const call =
  (method: string, payload: unknown = null) =>
  (seq: number): ClientFrame => [FrameType.CALL, seq, method, payload]
const message = (seq: number, offset = seq): ServerFrame => [FrameType.MESSAGE, seq, 'room', { n: offset }, offset]
const ok = (seq: number, ref: number, result: unknown): ServerFrame => [FrameType.REPLY, seq, ref, null, result]
/** Lets queued microtasks (the session's flush) run. */
const microtasks = () => new Promise<void>((resolve) => setTimeout(resolve, 0))
/** Settles a promise into a value or the error, so a rejection is never left unhandled. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

afterEach(() => {
  vi.useRealTimers()
})

describe('ClientSession requests', () => {
  it('numbers requests 1..n and sends one batch per microtask', async () => {
    const { session, t } = attached()
    void session.request(call('a'))
    void session.request((seq) => [FrameType.PUBLISH, seq, 'room', { text: 'hi' }])
    void session.request((seq) => [FrameType.SUBSCRIBE, seq, 'room', null])
    expect(t.batches).toEqual([]) // not yet: the flush waits for the microtask
    await Promise.resolve()
    expect(t.batches).toEqual([
      [
        [FrameType.CALL, 1, 'a', null],
        [FrameType.PUBLISH, 2, 'room', { text: 'hi' }],
        [FrameType.SUBSCRIBE, 3, 'room', null],
      ],
    ])
    void session.request((seq) => [FrameType.UNSUBSCRIBE, seq, 'room'])
    await microtasks()
    expect(t.batches).toHaveLength(2)
    expect(t.batches[1]).toEqual([[FrameType.UNSUBSCRIBE, 4, 'room']])
    expect(session.unacked).toBe(4)
    expect(session.pendingCount).toBe(4)
  })

  it('sends requests at once past flushPastChars on a WebSocket, and at the end of the callback on HTTP lines', async () => {
    const big = 'x'.repeat(20_000)
    const ws = attached('websocket')
    for (let i = 0; i < 4; i++) void ws.session.request(call('a', big))
    // The fourth passes 64 KiB: a full WebSocket message (64 KiB, three of them) went at once.
    expect(ws.t.batches.map((b) => b.map((f) => f[1]))).toEqual([[1, 2, 3]])
    void ws.session.request(call('a', big))
    expect(ws.t.batches).toHaveLength(1) // the count starts again after a flush
    await Promise.resolve()
    expect(ws.t.batches.map((b) => b.map((f) => f[1]))).toEqual([
      [1, 2, 3],
      [4, 5],
    ])
    for (const name of ['sse', 'long-polling'] as const) {
      const http = attached(name)
      for (let i = 0; i < 4; i++) void http.session.request(call('a', big))
      expect(http.t.batches).toEqual([])
      await Promise.resolve()
      expect(http.t.batches.map((b) => b.filter((f) => f[0] >= 10).length)).toEqual([4])
    }
  })

  it('holds requests while detached and sends them on attach', async () => {
    const { session } = createSession()
    void session.request(call('a'))
    void session.request(call('b'))
    await microtasks()
    const t = new FakeTransport()
    session.attach(t, 0)
    expect(t.batches).toEqual([
      [
        [FrameType.CALL, 1, 'a', null],
        [FrameType.CALL, 2, 'b', null],
      ],
    ])
  })

  it.each([
    ['websocket', 'maxMessageBytes', [[1, 2], [3, 4], [5]]],
    ['sse', 'maxBatchBytes', [[1, 2, 3, 4, 5]]],
  ] as const)('cuts batches by bytes on %s at %s', async (name, _limit, seqs) => {
    const { session } = createSession()
    session.setLimits({ maxBatchBytes: 1_000, maxMessageBytes: 250 }) // two of these 100-byte frames fit, three do not
    const t = new FakeTransport(name)
    session.attach(t, 0)
    for (let i = 0; i < 5; i++) void session.request(call('m', 'x'.repeat(100 - 14)))
    await microtasks()
    expect(t.batches.map((b) => b.map((f) => f[1]))).toEqual(seqs)
  })

  it.each([
    ['websocket', [4, 4, 2]],
    ['sse', [4, 4, 2]],
    // A POST's answer carries its ack and then the replies: a full POST would leave one reply to wake the poll.
    ['long-polling', [3, 3, 3, 1]],
  ] as const)("cuts batches at the server's maxBatchFrames on %s (a frame short on a polled line)", async (name, sizes) => {
    const { session } = createSession()
    session.setLimits({ maxBatchFrames: 4 })
    const t = new FakeTransport(name)
    session.attach(t, 0)
    for (let i = 0; i < 10; i++) void session.request(call('m'))
    await microtasks()
    expect(t.batches.map((b) => b.filter((f) => f[0] >= 10).length)).toEqual(sizes)
  })

  it('stops sending when the line is over its high-water mark and resumes on drain', async () => {
    const { session } = createSession()
    session.setLimits({ maxBatchFrames: 2 })
    const t = new FakeTransport()
    t.accept = false
    session.attach(t, 0)
    for (let i = 0; i < 5; i++) void session.request(call(`m${i}`))
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2])
    void session.request(call('later'))
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2])
    t.accept = true
    session.drain()
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('past maxOutboxFrames, requests wait in order for acks to make room, then go out', async () => {
    const { session, t } = attached('websocket', { maxOutboxFrames: 3 })
    const replies = Array.from({ length: 6 }, (_, i) => outcome(session.request(call(`m${i}`))))
    expect(session.unacked).toBe(3)
    expect(session.queued).toBe(3)
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3])
    session.receive([[FrameType.ACK, 2]], 0)
    expect(session.queued).toBe(1)
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5])
    expect(t.frames.filter((f) => f[0] === FrameType.CALL).map((f) => f[2])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    session.receive([ok(1, 3, 'three')], 0) // a reply to 3 acks 3: room for the last one
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5, 6])
    expect(session.queued).toBe(0)
    session.receive([ok(2, 6, 'six')], 0)
    expect(await replies[5]).toEqual({ value: 'six' })
    expect(await replies[2]).toEqual({ value: 'three' })
  })

  it('a request that waits keeps its order behind earlier waiting ones, even if it would fit', async () => {
    const { session, t } = attached('websocket', { maxOutboxFrames: 100, maxOutboxBytes: 300 })
    void outcome(session.request(call('big', 'x'.repeat(200))))
    void outcome(session.request(call('big2', 'x'.repeat(200)))) // does not fit: waits
    void outcome(session.request(call('small'))) // would fit, but must not overtake
    await microtasks()
    expect(t.frames.filter((f) => f[0] === FrameType.CALL).map((f) => f[2])).toEqual(['big'])
    session.receive([[FrameType.ACK, 1]], 0)
    await microtasks()
    expect(t.frames.filter((f) => f[0] === FrameType.CALL).map((f) => f[2])).toEqual(['big', 'big2', 'small'])
  })

  it('holds pre-encoded publishes and calls that wait as their parts, numbered and sent in order as room frees', async () => {
    vi.useFakeTimers()
    const { session, t } = attached('websocket', { maxOutboxFrames: 2, maxQueuedRequests: 3 })
    const replies = [0, 1, 2, 3].map((i) => outcome(session.requestData(FrameType.CALL, '"m"', JSON.stringify(`d${i}`))))
    const late = outcome(session.requestData(FrameType.PUBLISH, '"room"', '"late"', 50))
    expect(() => session.requestData(FrameType.CALL, '"m"', '"over"')).toThrow(expect.objectContaining({ code: 'OUTBOX_FULL' }))
    expect(session.queued).toBe(3)
    await vi.advanceTimersByTimeAsync(60) // the waiting publish times out and is never sent
    expect(await late).toMatchObject({ error: { code: 'TIMEOUT' } })
    session.receive([ok(1, 1, 'r0'), ok(2, 2, 'r1')], 0)
    await vi.advanceTimersByTimeAsync(1)
    expect(t.frames.filter((f) => f[0] === FrameType.CALL || f[0] === FrameType.PUBLISH).map((f) => [f[1], f[3]])).toEqual([
      [1, 'd0'],
      [2, 'd1'],
      [3, 'd2'],
      [4, 'd3'],
    ])
    session.receive([ok(3, 3, 'r2'), ok(4, 4, 'r3')], 0)
    expect(await Promise.all(replies)).toEqual([{ value: 'r0' }, { value: 'r1' }, { value: 'r2' }, { value: 'r3' }])
    expect(session.queued).toBe(0)
  })

  it('throws OUTBOX_FULL only past the waiting bound, by requests and by size', () => {
    const { session } = attached('websocket', { maxOutboxFrames: 1, maxQueuedRequests: 2 })
    for (let i = 0; i < 3; i++) void outcome(session.request(call('x')))
    expect(() => session.request(call('x'))).toThrow(expect.objectContaining({ code: 'OUTBOX_FULL' }))
    const bySize = attached('websocket', { maxOutboxFrames: 1, maxQueuedBytes: 100 })
    void outcome(bySize.session.request(call('x')))
    expect(() => bySize.session.request(call('x', 'y'.repeat(200)))).toThrow(expect.objectContaining({ code: 'OUTBOX_FULL' }))
  })

  it('times out a request that is still waiting for room, and sends it never', async () => {
    vi.useFakeTimers()
    const { session, t } = attached('websocket', { maxOutboxFrames: 1 })
    void outcome(session.request(call('first')))
    const late = outcome(session.request(call('late'), 50))
    await vi.advanceTimersByTimeAsync(60)
    expect(await late).toMatchObject({ error: { code: 'TIMEOUT' } })
    session.receive([ok(1, 1, 'ok')], 0)
    await vi.advanceTimersByTimeAsync(1)
    expect(t.frames.filter((f) => f[0] === FrameType.CALL).map((f) => f[2])).toEqual(['first'])
    expect(session.queued).toBe(0)
  })

  it('keeps the timeout of a request still waiting for room when the session is replaced', async () => {
    vi.useFakeTimers()
    const { session } = attached('websocket', { maxOutboxFrames: 1 })
    void outcome(session.request(call('first')))
    const waiting = outcome(session.request(call('late'), 50))
    session.reset(new SwitchboardError('SESSION_LOST')) // not final: the waiting one goes on to the next session
    await vi.advanceTimersByTimeAsync(60)
    expect(await waiting).toMatchObject({ error: { code: 'TIMEOUT' } })
  })

  it('drained() resolves once nothing waits; a final reset rejects what waits with its error', async () => {
    const { session } = attached('websocket', { maxOutboxFrames: 1 })
    await session.drained()
    void outcome(session.request(call('a')))
    const waiting = outcome(session.request(call('b')))
    let drained = false
    void session.drained().then(() => (drained = true))
    await microtasks()
    expect(drained).toBe(false)
    session.receive([ok(1, 1, 'ok')], 0)
    await microtasks()
    expect(drained).toBe(true)
    const again = outcome(session.request(call('c')))
    session.reset(new SwitchboardError('CLOSED'), true)
    expect(await again).toMatchObject({ error: { code: 'CLOSED' } })
    expect(await waiting).toMatchObject({ error: { code: 'CLOSED' } })
  })

  it('keeps its outbox within what the server holds unprocessed (from setLimits), and back to its own bounds for a server that gives none', async () => {
    const { session, t } = attached('websocket', { maxOutboxFrames: 100, maxOutboxBytes: 1_000_000 })
    session.setLimits({ maxPendingRequests: 3 })
    for (let i = 0; i < 5; i++) void outcome(session.request(call(`m${i}`)))
    expect([session.unacked, session.queued]).toEqual([3, 2])
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3])
    // 3 characters a UTF-8 byte at most, and 64 bytes a frame for its share of its batch.
    session.setLimits({ maxPendingRequests: 100, maxPendingBytes: 3 * 100 + 64 * 100 })
    session.receive([[FrameType.ACK, 3]], 0)
    expect([session.unacked, session.queued]).toEqual([2, 0])
    const big = outcome(session.request(call('big', 'x'.repeat(60))))
    expect(session.queued).toBe(1) // its 76 characters and the 32 held are past 100
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5])
    session.setLimits({})
    session.receive([[FrameType.ACK, 4]], 0)
    expect(session.queued).toBe(0)
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5, 6])
    session.receive([ok(1, 6, 'big')], 0)
    expect(await big).toEqual({ value: 'big' })
  })

  it('starts the next session with its outbox within what the last server held, until that one says', () => {
    const { session } = createSession({ maxOutboxFrames: 100 })
    session.setLimits({ maxPendingRequests: 3 })
    session.reset(new SwitchboardError('SESSION_LOST'))
    for (let i = 0; i < 5; i++) void outcome(session.request(call(`m${i}`)))
    expect([session.unacked, session.queued]).toEqual([3, 2])
  })

  it('takes a request larger than its outbox bytes once the outbox is empty, alone', async () => {
    const { session, t } = attached('websocket', { maxOutboxFrames: 100, maxOutboxBytes: 50 })
    void outcome(session.request(call('small')))
    const big = outcome(session.request(call('big', 'x'.repeat(200))))
    void outcome(session.request(call('after')))
    const sent = () => t.frames.filter((f) => f[0] === FrameType.CALL).map((f) => f[2])
    expect([session.unacked, session.queued]).toEqual([1, 2])
    await microtasks()
    expect(sent()).toEqual(['small'])
    session.receive([ok(1, 1, null)], 0)
    expect([session.unacked, session.queued]).toEqual([1, 1])
    await microtasks()
    expect(sent()).toEqual(['small', 'big'])
    session.receive([ok(2, 2, 'big')], 0)
    expect([session.unacked, session.queued]).toEqual([1, 0])
    await microtasks()
    expect(sent()).toEqual(['small', 'big', 'after'])
    expect(await big).toEqual({ value: 'big' })
  })

  it('throws MESSAGE_TOO_LARGE for data over maxMessageBytes (from setLimits) and queues nothing', () => {
    const { session } = createSession()
    session.setLimits({ maxBatchFrames: 64, maxBatchBytes: 10_000, maxMessageBytes: 12 })
    expect(() => session.requestData(FrameType.CALL, '"m"', JSON.stringify('x'.repeat(11)))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE', message: 'A call exceeds 12 bytes' }),
    )
    expect(() => session.requestData(FrameType.PUBLISH, '"room"', '"€€€€"')).toThrow(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE', message: 'A message exceeds 12 bytes' }),
    )
    expect(session.unacked).toBe(0)
    void session.requestData(FrameType.CALL, '"m"', JSON.stringify('x'.repeat(10))) // 12 bytes: at the limit
    expect(session.unacked).toBe(1)
  })
})

describe('ClientSession attach and acks', () => {
  it('refuses a server ack beyond the last seq with MALFORMED_FRAME', () => {
    const { session } = createSession()
    void session.request(call('a'))
    expect(() => session.attach(new FakeTransport(), 2)).toThrow(expect.objectContaining({ code: 'MALFORMED_FRAME' }))
    expect(session.unacked).toBe(1)
  })

  it('trims the outbox on server ACK frames', async () => {
    const { session } = attached()
    for (let i = 0; i < 4; i++) void session.request(call('x'))
    await microtasks()
    session.receive([[FrameType.ACK, 2]], 0)
    expect(session.unacked).toBe(2)
    session.receive([[FrameType.ACK, 1]], 0) // older: harmless
    expect(session.unacked).toBe(2)
    session.receive([[FrameType.ACK, 99]], 0) // beyond: holds everything
    expect(session.unacked).toBe(0)
    expect(session.pendingCount).toBe(4) // an ack is not a reply
  })

  it('acks received data frames after ACK_DELAY_MS', () => {
    vi.useFakeTimers()
    const { session, t } = attached()
    session.receive([message(1), message(2)], 0)
    vi.advanceTimersByTime(ACK_DELAY_MS - 1)
    expect(t.batches).toEqual([])
    vi.advanceTimersByTime(1)
    expect(t.batches).toEqual([[[FrameType.ACK, 2]]])
    vi.advanceTimersByTime(ACK_DELAY_MS * 10)
    expect(t.batches).toHaveLength(1)
  })

  it('waits HTTP_ACK_DELAY_MS on SSE, where a standalone ack is a POST, and acks at once after ACK_EVERY_FRAMES', async () => {
    vi.useFakeTimers()
    const { session, t } = attached('sse')
    session.receive([message(1), message(2)], 0)
    vi.advanceTimersByTime(HTTP_ACK_DELAY_MS - 1)
    expect(t.batches).toEqual([])
    vi.advanceTimersByTime(1)
    expect(t.batches).toEqual([[[FrameType.ACK, 2]]])
    session.receive(
      range(3, 2 + ACK_EVERY_FRAMES).map((n) => message(n)),
      0,
    )
    await vi.advanceTimersByTimeAsync(0)
    expect(t.batches.at(-1)).toEqual([[FrameType.ACK, 2 + ACK_EVERY_FRAMES]])
  })

  it('on SSE, lets the next POST carry the ack (header): no ACK-only POST when the line drains, none when the timer finds it carried', async () => {
    vi.useFakeTimers()
    const { session } = createSession()
    const t = new FakeTransport('sse')
    t.accept = false // a POST is in flight
    session.attach(t, 0)
    const first = outcome(session.request(call('x')))
    await vi.advanceTimersByTimeAsync(0)
    // Its answer carries the reply; then the POST ends and the line drains before the next call.
    session.receive([ok(1, 1, 'one')], 0)
    expect(await first).toEqual({ value: 'one' })
    t.accept = true
    session.drain()
    expect(t.batches).toHaveLength(1) // no POST for the ack alone
    void session.request(call('y')).catch(() => {})
    await vi.advanceTimersByTimeAsync(0)
    expect(t.batches).toHaveLength(2)
    expect(t.batches[1]!.map((f) => f[0])).toEqual([FrameType.CALL]) // no ACK frame: the header has it
    vi.advanceTimersByTime(HTTP_ACK_DELAY_MS * 2)
    expect(t.batches).toHaveLength(2)
  })

  it('acks within ACK_DELAY_MS with real timers too', async () => {
    const { session, t } = attached()
    session.receive([message(1)], 0)
    await vi.waitFor(() => expect(t.frames).toEqual([[FrameType.ACK, 1]]), { timeout: 1_000, interval: 2 })
  })

  it('acks at once when ACK_EVERY_FRAMES frames are unacked', async () => {
    vi.useFakeTimers()
    const { session, t } = attached()
    session.receive(
      range(1, ACK_EVERY_FRAMES).map((n) => message(n)),
      0,
    )
    await Promise.resolve()
    expect(t.batches).toEqual([[[FrameType.ACK, ACK_EVERY_FRAMES]]])
  })

  it('puts a due ack in front of the next request batch, and sends no second one', async () => {
    vi.useFakeTimers()
    const { session, t } = attached()
    session.receive([message(1)], 0)
    void session.request(call('a'))
    await Promise.resolve()
    expect(t.batches).toEqual([
      [
        [FrameType.ACK, 1],
        [FrameType.CALL, 1, 'a', null],
      ],
    ])
    vi.advanceTimersByTime(ACK_DELAY_MS * 2)
    expect(t.batches).toHaveLength(1)
  })

  it('sends no ACK frames on long polling, where every poll carries the ack, and sets no ack timer', async () => {
    vi.useFakeTimers()
    const { session, t } = attached('long-polling')
    session.receive([message(1), message(2)], 0)
    expect(vi.getTimerCount()).toBe(0)
    session.receive(
      range(3, ACK_EVERY_FRAMES + 5).map((n) => message(n)),
      0,
    )
    await Promise.resolve()
    vi.advanceTimersByTime(ACK_DELAY_MS * 10)
    void session.request(call('a'))
    await Promise.resolve()
    expect(t.frames).toEqual([[FrameType.CALL, 1, 'a', null]])
    expect(session.received).toBe(ACK_EVERY_FRAMES + 5)
  })

  it('acks again on a new line what it already holds (its attach request may have left earlier)', () => {
    const { session } = createSession()
    session.receive([message(1)], 0)
    const t = new FakeTransport()
    session.attach(t, 0)
    expect(t.frames).toEqual([[FrameType.ACK, 1]])
  })

  it('sends no ack on attach when it holds nothing', () => {
    const { t } = attached()
    expect(t.batches).toEqual([])
  })

  it('answers a PING with a PONG', async () => {
    const { session, t } = attached()
    session.receive([[FrameType.PING]], 0)
    await Promise.resolve()
    expect(t.frames).toEqual([[FrameType.PONG]])
  })
})

describe('ClientSession replies', () => {
  it('resolves and rejects the request each reply names', async () => {
    const { session } = attached()
    const r1 = outcome(session.request(call('one')))
    const r2 = outcome(session.request(call('two')))
    const r3 = outcome(session.request(call('three')))
    session.receive(
      [ok(1, 2, 'second'), [FrameType.REPLY, 2, 3, 'RPC_ERROR', 'nope', { why: 'testing' }], [FrameType.REPLY, 3, 1, 'FORBIDDEN', 'not you']],
      0,
    )
    expect(await r2).toEqual({ value: 'second' })
    const e3 = (await r3) as { error: SwitchboardError }
    expect(e3.error).toBeInstanceOf(SwitchboardError)
    expect(e3.error).toMatchObject({ code: 'RPC_ERROR', message: 'nope', data: { why: 'testing' } })
    const e1 = (await r1) as { error: SwitchboardError }
    expect(e1.error).toMatchObject({ code: 'FORBIDDEN', message: 'not you' })
    expect(e1.error.data).toBeUndefined()
    expect(session.pendingCount).toBe(0)
  })

  it('rejects with TIMEOUT when no reply comes in time, and ignores a late reply', async () => {
    vi.useFakeTimers()
    const { session, data } = attached()
    const slow = outcome(session.request(call('slow'), 100))
    const other = outcome(session.request(call('other'), 1_000))
    vi.advanceTimersByTime(99)
    expect(session.pendingCount).toBe(2)
    vi.advanceTimersByTime(1)
    const timedOut = (await slow) as { error: SwitchboardError }
    expect(timedOut.error).toMatchObject({ code: 'TIMEOUT', message: 'No reply within 100 ms' })
    expect(session.pendingCount).toBe(1)
    session.receive([ok(1, 1, 'too late'), ok(2, 2, 'in time')], 0)
    expect(await other).toEqual({ value: 'in time' })
    expect(session.received).toBe(2) // the late reply still counts as received (and acked)
    expect(data).toEqual([])
  })

  it('keeps one timer for every timeout, firing each at its own deadline, the shortest first', async () => {
    vi.useFakeTimers()
    const { session } = createSession()
    session.attach(new FakeTransport(), 0)
    const long = Array.from({ length: 50 }, () => outcome(session.request(call('x'), 1_000)))
    const short = outcome(session.request(call('x'), 100))
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect(await short).toMatchObject({ error: { code: 'TIMEOUT', message: 'No reply within 100 ms' } })
    expect(session.pendingCount).toBe(50)
    session.receive([ok(1, 1, 'first')], 0)
    expect(await long[0]).toEqual({ value: 'first' })
    await vi.advanceTimersByTimeAsync(899)
    expect(session.pendingCount).toBe(49)
    await vi.advanceTimersByTimeAsync(1)
    expect(session.pendingCount).toBe(0)
    expect(await long[49]).toMatchObject({ error: { code: 'TIMEOUT' } })
    expect(vi.getTimerCount()).toBe(0) // nothing pending: no timeout timer is left behind
  })

  it('does not time out a request that was answered', async () => {
    vi.useFakeTimers()
    const { session } = createSession()
    session.attach(new FakeTransport(), 0)
    const r = outcome(session.request(call('x'), 50))
    session.receive([ok(1, 1, 42)], 0)
    vi.advanceTimersByTime(1_000)
    expect(await r).toEqual({ value: 42 })
  })

  it('takes a reply to request n as the ack of n and everything before it (room in the outbox before any ACK frame)', async () => {
    const { session } = attached('sse', { maxOutboxFrames: 3 })
    const pending = [1, 2, 3].map(() => outcome(session.request(call('x'))))
    await microtasks()
    pending.push(outcome(session.request(call('x'))), outcome(session.request(call('x'))))
    expect(session.queued).toBe(2)
    session.receive([ok(1, 2, 'two')], 0)
    // 1 and 2 are acked by the reply to 2 (3 is not): the two waiting requests take their room.
    expect(session.queued).toBe(0)
    expect(session.unacked).toBe(3)
    expect(await pending[1]).toEqual({ value: 'two' })
  })

  it('never writes frames that a reply (from the old line, during a switch) has acked to a line that was blocked', async () => {
    const { session } = createSession()
    session.attach(new FakeTransport('sse'), 0)
    for (let i = 0; i < 4; i++) session.request(call('x')).catch(() => {})
    await microtasks()
    const t2 = new FakeTransport('websocket')
    t2.accept = false
    session.detach()
    session.attach(t2, 0)
    expect(t2.dataSeqs).toEqual([1, 2, 3, 4])
    for (let i = 0; i < 3; i++) session.request(call('x')).catch(() => {})
    session.receive([ok(1, 6, 'six')], 0)
    t2.accept = true
    session.drain()
    await microtasks()
    expect(t2.dataSeqs).toEqual([1, 2, 3, 4, 7])
  })

  it('keeps a request without timeout pending', async () => {
    vi.useFakeTimers()
    const { session } = createSession()
    void session.request(call('x'))
    vi.advanceTimersByTime(3_600_000)
    expect(session.pendingCount).toBe(1)
  })
})

describe('ClientSession incoming data', () => {
  it('delivers MESSAGE frames once each, in order, dropping duplicates and holding frames that come after a gap', () => {
    const { session, data, gaps } = createSession()
    session.receive(
      [1, 2, 2, 1, 4, 6, 4].map((n) => message(n)),
      0,
    )
    expect(data.map((f) => f[1])).toEqual([1, 2])
    expect(session.received).toBe(2) // 4 and 6 wait for 3 (and 5): the ack does not pass the gap
    session.receive(
      [3, 3].map((n) => message(n)),
      0,
    )
    expect(data.map((f) => f[1])).toEqual([1, 2, 3, 4])
    session.receive(
      [4, 5, 6, 7].map((n) => message(n)),
      0,
    )
    expect(data.map((f) => f[1])).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(data[4]).toEqual([FrameType.MESSAGE, 5, 'room', { n: 5 }, 5])
    expect(session.received).toBe(7)
    expect(gaps).toEqual([])
  })

  it('settles a reply that came early once the frames before it arrive, in seq order', async () => {
    const { session, data } = createSession()
    const r = outcome(session.request(call('x')))
    session.receive([ok(2, 1, 'done')], 0) // a POST answer overtook the poll answer carrying message 1
    expect(session.pendingCount).toBe(1)
    session.receive([message(1)], 0)
    expect(data.map((f) => f[1])).toEqual([1])
    expect(await r).toEqual({ value: 'done' })
    expect(session.unacked).toBe(0)
  })

  it('holds at most 512 frames ahead of a gap and drops the rest (the replay fills the gap), forgetting them on reset', () => {
    const { session, data, gaps } = createSession()
    session.receive(
      range(2, 600).map((n) => message(n)),
      0,
    )
    expect(gaps).toHaveLength(600 - 1 - 512)
    expect(gaps[0]).toEqual([2 + 512, 1])
    session.receive([message(1)], 0)
    expect(session.received).toBe(513)
    expect(data).toHaveLength(513)
    session.receive([message(515)], 0) // held again
    session.reset(new SwitchboardError('SESSION_LOST'))
    session.receive([message(1)], 0)
    expect(session.received).toBe(1) // nothing held from the old session is delivered
  })

  it('holds at most 4 MiB (in characters) of frames ahead of a gap, counting a frame that comes twice once', () => {
    const { session, data, gaps } = createSession()
    const big = (n: number): ServerDataFrame => [FrameType.MESSAGE, n, 'room', 'x'.repeat(300_000), n]
    session.receive([big(2), big(2), big(3)], 0)
    expect(gaps).toEqual([])
    session.receive(range(4, 20).map(big), 0)
    // 13 frames of ~300,000 characters fit in 4 MiB (4,194,304), the 14th does not.
    expect(gaps[0]).toEqual([15, 1])
    expect(gaps).toHaveLength(20 - 14)
    session.receive([message(1)], 0)
    expect(data.map((f) => f[1])).toEqual(range(1, 14))
    // Delivered frames free their room: a new gap holds as many again.
    session.receive(range(16, 28).map(big), 0)
    expect(gaps).toHaveLength(20 - 14)
  })

  it('shares one seq space between messages and replies', async () => {
    const { session, data } = createSession()
    const r = outcome(session.request(call('x')))
    session.receive([message(1), ok(2, 1, 'done'), message(3)], 0)
    expect(data.map((f) => f[1])).toEqual([1, 3])
    expect(await r).toEqual({ value: 'done' })
    session.receive([ok(2, 1, 'again')], 0) // a duplicate reply settles nothing twice
    expect(session.received).toBe(3)
  })

  it("starts reading at `from` (the frames before it are the connection's)", () => {
    const { session, data } = createSession()
    session.receive([[FrameType.WELCOME, 0], message(1)], 1)
    expect(data.map((f) => f[1])).toEqual([1])
  })

  itProp.prop([fc.array(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 12 }), { maxLength: 20 })])(
    'never delivers a frame twice or out of order, whatever arrives',
    (batches) => {
      const { session, data } = createSession()
      for (const batch of batches) {
        session.receive(
          batch.map((n) => message(n)),
          0,
        )
        expect(data.map((f) => f[1])).toEqual(range(1, session.received))
      }
      session.reset(new SwitchboardError('CLOSED'), true)
    },
  )
})

describe('ClientSession reset', () => {
  it('rejects every pending request with the error and starts over', async () => {
    const { session, t } = attached()
    const r1 = outcome(session.request(call('a')))
    const r2 = outcome(session.request(call('b'), 10_000))
    await microtasks()
    session.receive([message(1)], 0)
    const error = new SwitchboardError('SESSION_LOST')
    session.reset(error)
    expect(await r1).toEqual({ error })
    expect(await r2).toEqual({ error })
    expect(session.pendingCount).toBe(0)
    expect(session.unacked).toBe(0)
    expect(session.received).toBe(0)
    // Detached now: the next request waits for a new attach, and numbering restarts at 1.
    void session.request(call('c'))
    await microtasks()
    expect(t.dataSeqs).toEqual([1, 2])
    const t2 = new FakeTransport()
    session.attach(t2, 0)
    expect(t2.frames).toEqual([[FrameType.CALL, 1, 'c', null]])
  })

  it('makes later requests throw the error when final', async () => {
    const { session } = createSession()
    const r = outcome(session.request(call('a')))
    const error = new SwitchboardError('CLOSED')
    session.reset(error, true)
    expect(await r).toEqual({ error })
    expect(() => session.request(call('b'))).toThrow(error)
    expect(session.unacked).toBe(0)
  })

  it('sends no ack for frames received before the reset', () => {
    vi.useFakeTimers()
    const { session, t } = attached()
    session.receive([message(1)], 0)
    session.reset(new SwitchboardError('SESSION_LOST'))
    session.attach(t, 0)
    vi.advanceTimersByTime(ACK_DELAY_MS * 5)
    expect(t.batches).toEqual([])
  })

  const publish =
    (n: number) =>
    (seq: number): ClientFrame => [FrameType.PUBLISH, seq, 'room', { n }]

  it('carries over what a forgotten session never sent, and with a publish key its sent publishes too, keyed', async () => {
    const run = async (publishKey: string | undefined) => {
      const { session, t } = attached()
      const sent = [outcome(session.request(publish(1))), outcome(session.request(call('a'))), outcome(session.request(publish(2)))]
      await microtasks()
      t.accept = false
      session.detach()
      const unsent = outcome(session.request(publish(3)))
      const error = new SwitchboardError('SESSION_LOST')
      session.carryOver(error, false, publishKey)
      const t2 = new FakeTransport()
      session.attach(t2, 0)
      return { sent, unsent, error, frames: t2.frames }
    }
    const plain = await run(undefined)
    // Without a key, what left may have been processed: it fails, and only the unsent one moves.
    expect(plain.frames).toEqual([[FrameType.PUBLISH, 1, 'room', { n: 3 }]])
    for (const r of plain.sent) expect(await r).toEqual({ error: plain.error })
    const keyed = await run('k1')
    // With one, every publish moves with the key of its first seq (sent or not); the call still fails.
    expect(keyed.frames).toEqual([
      [FrameType.PUBLISH, 1, 'room', { n: 1 }, 'k1.1'],
      [FrameType.PUBLISH, 2, 'room', { n: 2 }, 'k1.3'],
      [FrameType.PUBLISH, 3, 'room', { n: 3 }, 'k1.4'],
    ])
    expect(await keyed.sent[1]).toEqual({ error: keyed.error })
  })

  it('keeps the key of a publish carried over twice', async () => {
    const { session, t } = attached()
    void outcome(session.request(publish(1)))
    await microtasks()
    session.carryOver(new SwitchboardError('SESSION_LOST'), false, 'first')
    const t2 = new FakeTransport()
    session.attach(t2, 0)
    session.carryOver(new SwitchboardError('SESSION_LOST'), false, 'second')
    const t3 = new FakeTransport()
    session.attach(t3, 0)
    expect(t.frames).toEqual([[FrameType.PUBLISH, 1, 'room', { n: 1 }]])
    expect(t3.frames).toEqual([[FrameType.PUBLISH, 1, 'room', { n: 1 }, 'first.1']])
  })
})
