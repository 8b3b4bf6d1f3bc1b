import { fc, it as itProp } from '@fast-check/vitest'
import {
  ACK_DELAY_MS,
  ACK_EVERY_FRAMES,
  classifySeq,
  decodeServerBatch,
  encodeMessage,
  encodeMessageBody,
  FrameType,
  SwitchboardError,
  type ClientDataFrame,
  type ClientFrame,
  type ErrorCode,
  type ServerFrame,
  type TransportName,
} from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import type { EndedSession } from './ended-session.js'
import { Session } from './session.js'
import type { SessionConfig } from './session-config.js'
import type { ServerTransport } from './transports/transport.js'

/** An in-memory line: records every batch (decoded, so a malformed one fails the test) and its close code. */
class FakeTransport implements ServerTransport {
  readonly batches: ServerFrame[][] = []
  writable = true
  /** What send() answers: false means "over the high-water mark". */
  accept = true
  closedWith: ErrorCode | null = null
  closeCount = 0
  constructor(readonly name: TransportName = 'websocket') {}

  send(batch: string): boolean {
    this.batches.push(decodeServerBatch(batch))
    return this.accept
  }

  close(code: ErrorCode): void {
    this.closeCount++
    this.closedWith ??= code
    this.writable = false
  }

  get frames(): ServerFrame[] {
    return this.batches.flat()
  }

  /** Seqs of the data frames (MESSAGE, REPLY) written, in order. */
  get dataSeqs(): number[] {
    return this.frames.flatMap((f) => (f[0] === FrameType.MESSAGE || f[0] === FrameType.REPLY ? [f[1]] : []))
  }
}

interface Harness {
  session: Session<null>
  dispatched: ClientDataFrame[]
  onEnd: ReturnType<typeof vi.fn>
}

function createSession(overrides: Partial<SessionConfig> = {}): Harness {
  const dispatched: ClientDataFrame[] = []
  const onEnd = vi.fn()
  const session = new Session<null>('sid', 'token', null, {
    batch: { maxFrames: 512, maxBytes: 1_000_000 },
    replayBufferFrames: 1_000,
    replayBufferBytes: 1_000_000,
    maxPendingRequests: 10_000,
    maxPendingBytes: 16_000_000,
    heartbeatMs: 1_000,
    recoveryMs: 5_000,
    dispatch: (_s, frame) => void dispatched.push(frame),
    onEnd,
    logger: undefined,
    ...overrides,
  })
  return { session, dispatched, onEnd }
}

/** Sessions flush in a microtask once the callback that wrote is done; setImmediate runs after it. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

const publishFrame = (seq: number): ClientFrame => [FrameType.PUBLISH, seq, 'room', { n: seq }]
const bodyFor = (n: number) => encodeMessageBody('room', { n }, n)
const seqsOf = (frames: readonly ClientDataFrame[]) => frames.map((f) => f[1])
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

describe('Session attach', () => {
  it('sends WELCOME first, carrying the last client seq it holds', async () => {
    const { session } = createSession()
    session.receive([publishFrame(1), publishFrame(2), publishFrame(3)])
    session.sendMessage(bodyFor(1))
    const t = new FakeTransport()
    session.attach(t, 0, true)
    expect(t.batches).toHaveLength(1)
    expect(t.batches[0]![0]).toEqual([FrameType.WELCOME, 3])
    expect(t.batches[0]![1]).toEqual([FrameType.MESSAGE, 1, 'room', { n: 1 }, 1])
    expect(session.transport).toBe('websocket')
    expect(session.detachedAt).toBe(0)
  })

  it('sends WELCOME 0 to a fresh session and nothing else', () => {
    const { session } = createSession()
    const t = new FakeTransport('sse')
    session.attach(t, 0, true)
    expect(t.batches).toEqual([[[FrameType.WELCOME, 0]]])
    expect(session.transport).toBe('sse')
  })

  it('sends no WELCOME when not asked to', async () => {
    const { session } = createSession()
    session.sendMessage(bodyFor(1))
    const t = new FakeTransport('long-polling')
    session.attach(t, 0, false)
    expect(t.frames.map((f) => f[0])).toEqual([FrameType.MESSAGE])
  })

  it('refuses an ack beyond the last seq sent with BAD_REQUEST and keeps the current line', () => {
    const { session } = createSession()
    const t1 = new FakeTransport()
    session.attach(t1, 0, true)
    session.sendMessage(bodyFor(1))
    const t2 = new FakeTransport()
    expect(() => session.attach(t2, 2, true)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
    expect(t1.closedWith).toBeNull()
    expect(t2.batches).toEqual([])
    expect(session.unacked).toBe(1)
  })

  it('refuses to attach to an ended session with UNKNOWN_SESSION', () => {
    const { session } = createSession()
    session.end('SESSION_LOST')
    expect(() => session.attach(new FakeTransport(), 0, true)).toThrow(SwitchboardError)
    expect(() => session.attach(new FakeTransport(), 0, true)).toThrow(expect.objectContaining({ code: 'UNKNOWN_SESSION' }))
  })

  it('closes the older line with SUPERSEDED when a newer one attaches', async () => {
    const { session } = createSession()
    const t1 = new FakeTransport('sse')
    const t2 = new FakeTransport('websocket')
    session.attach(t1, 0, true)
    session.attach(t2, 0, true)
    expect(t1.closedWith).toBe('SUPERSEDED')
    expect(t2.closedWith).toBeNull()
    expect(session.transport).toBe('websocket')
    session.sendMessage(bodyFor(1))
    await settle()
    expect(t1.dataSeqs).toEqual([])
    expect(t2.dataSeqs).toEqual([1])
  })

  it('does not close a line that attaches again', () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    session.attach(t, 0, true)
    expect(t.closeCount).toBe(0)
  })

  it('ignores a detach from a line that is no longer current', () => {
    const { session } = createSession()
    const t1 = new FakeTransport()
    const t2 = new FakeTransport()
    session.attach(t1, 0, true)
    session.attach(t2, 0, true)
    session.detach(t1, 'late close event')
    expect(session.transport).toBe('websocket')
    expect(session.detachedAt).toBe(0)
    session.detach(t2, 'gone')
    expect(session.transport).toBeNull()
    expect(session.detachedAt).toBeGreaterThan(0)
  })
})

describe('Session outgoing frames', () => {
  it('numbers data frames 1..n across messages and replies, in one batch per turn', async () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    session.sendMessage(bodyFor(1))
    session.reply(7, { ok: true })
    session.replyError(8, new SwitchboardError('FORBIDDEN', 'no'))
    session.replyError(9, new SwitchboardError('RPC_ERROR', 'nope', { data: { why: 'x' } }))
    session.reply(10, undefined)
    await settle()
    expect(t.batches).toHaveLength(2) // the WELCOME, then one batch of five
    expect(t.batches[1]).toEqual([
      [FrameType.MESSAGE, 1, 'room', { n: 1 }, 1],
      [FrameType.REPLY, 2, 7, null, { ok: true }],
      [FrameType.REPLY, 3, 8, 'FORBIDDEN', 'no'],
      [FrameType.REPLY, 4, 9, 'RPC_ERROR', 'nope', { why: 'x' }],
      [FrameType.REPLY, 5, 10, null, null],
    ])
    expect(session.unacked).toBe(5)
  })

  it('wraps the pre-encoded body with its own seq only', async () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    const body = encodeMessageBody('room:a', { text: 'hi' }, 42)
    session.sendMessage(body)
    session.sendMessage(body)
    await settle()
    expect(t.frames).toEqual([
      [FrameType.MESSAGE, 1, 'room:a', { text: 'hi' }, 42],
      [FrameType.MESSAGE, 2, 'room:a', { text: 'hi' }, 42],
    ])
  })

  it('holds frames while detached and sends them on the next attach', async () => {
    const { session } = createSession()
    for (let n = 1; n <= 3; n++) session.sendMessage(bodyFor(n))
    await settle()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    expect(t.dataSeqs).toEqual([1, 2, 3])
  })

  it('stops writing when the line is over its high-water mark and resumes on drain', async () => {
    const { session } = createSession({ batch: { maxFrames: 2, maxBytes: 1_000_000 } })
    const t = new FakeTransport()
    t.accept = false
    session.attach(t, 0, false)
    for (let n = 1; n <= 5; n++) session.sendMessage(bodyFor(n))
    await settle()
    await settle()
    expect(t.dataSeqs).toEqual([1, 2])
    t.accept = true
    session.drain(t)
    await vi.waitFor(() => expect(t.dataSeqs).toEqual([1, 2, 3, 4, 5]))
  })

  it('does not write to a line that is not writable', async () => {
    const { session } = createSession()
    const t = new FakeTransport('long-polling')
    t.writable = false
    session.attach(t, 0, true)
    session.sendMessage(bodyFor(1))
    await settle()
    expect(t.batches).toEqual([])
    t.writable = true
    session.drain(t)
    await settle()
    expect(t.frames).toEqual([
      [FrameType.WELCOME, 0],
      [FrameType.MESSAGE, 1, 'room', { n: 1 }, 1],
    ])
  })
})

describe('Session acks and replay', () => {
  async function sent(count: number) {
    const h = createSession()
    const t = new FakeTransport()
    h.session.attach(t, 0, true)
    for (let n = 1; n <= count; n++) h.session.sendMessage(bodyFor(n))
    await settle()
    expect(t.dataSeqs).toEqual(range(1, count))
    return { ...h, t }
  }

  it('ignores an ACK beyond the last seq sent', async () => {
    const { session } = await sent(2)
    session.receive([[FrameType.ACK, 9]])
    expect(session.unacked).toBe(2)
    expect(session.ended).toBe(false)
  })

  it('replays the same frames under the same seqs and bodies', async () => {
    const { session, t } = await sent(3)
    const t2 = new FakeTransport()
    session.attach(t2, 1, true)
    await settle()
    expect(t2.frames.slice(1)).toEqual(t.frames.slice(2)) // t: WELCOME, 1, 2, 3; t2: WELCOME, 2, 3
  })

  // A stale attach ack (a poll or HELLO that left before an ACK frame) must not make flush resend
  // the unacked frames several times on one line.
})

describe('Session incoming frames', () => {
  it('dispatches data frames once each, in order: duplicates dropped, frames after a gap held until it fills', () => {
    const { session, dispatched } = createSession()
    session.receive([1, 2, 2, 1, 4, 3, 3, 5].map(publishFrame))
    expect(seqsOf(dispatched)).toEqual([1, 2, 3, 4, 5])
    expect(session.received).toBe(5)
    session.receive([8, 7, 8].map(publishFrame))
    expect(seqsOf(dispatched)).toEqual([1, 2, 3, 4, 5])
    expect(session.received).toBe(5)
    session.receive([6, 7].map(publishFrame))
    expect(seqsOf(dispatched)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(session.received).toBe(8)
  })

  it('passes every kind of data frame through unchanged', () => {
    const { session, dispatched } = createSession()
    const frames: ClientFrame[] = [
      [FrameType.SUBSCRIBE, 1, 'room:a', [3, 'epoch']],
      [FrameType.PUBLISH, 2, 'room:a', { text: 'hi' }],
      [FrameType.CALL, 3, 'add', { a: 1 }],
      [FrameType.UNSUBSCRIBE, 4, 'room:a'],
    ]
    session.receive(frames)
    expect(dispatched).toEqual(frames)
  })

  it('keeps later frames waiting while an async dispatch runs', async () => {
    const order: string[] = []
    const gates = new Map<number, () => void>()
    const { session } = createSession({
      dispatch: (_s, frame) => {
        order.push(`start ${frame[1]}`)
        if (frame[1] === 1 || frame[1] === 3)
          return new Promise<void>((resolve) => gates.set(frame[1], () => (order.push(`end ${frame[1]}`), resolve())))
      },
    })
    session.receive([publishFrame(1), publishFrame(2)])
    session.receive([publishFrame(3), publishFrame(4)])
    expect(order).toEqual(['start 1'])
    gates.get(1)!()
    await vi.waitFor(() => expect(order).toEqual(['start 1', 'end 1', 'start 2', 'start 3']))
    session.receive([publishFrame(5)])
    expect(order).toHaveLength(4)
    gates.get(3)!()
    await vi.waitFor(() => expect(order).toEqual(['start 1', 'end 1', 'start 2', 'start 3', 'end 3', 'start 4', 'start 5']))
  })

  it('moves on after an async dispatch rejects', async () => {
    const seen: number[] = []
    const { session } = createSession({
      dispatch: (_s, frame) => {
        seen.push(frame[1])
        if (frame[1] === 1) return Promise.reject(new Error('handler failed'))
      },
    })
    session.receive([publishFrame(1), publishFrame(2)])
    await vi.waitFor(() => expect(seen).toEqual([1, 2]))
  })

  it('answers a PING with a PONG', async () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.receive([[FrameType.PING]])
    await settle()
    expect(t.frames).toEqual([[FrameType.PONG]])
  })

  it('acks client data frames within ACK_DELAY_MS', async () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    const start = Date.now()
    session.receive([publishFrame(1), publishFrame(2)])
    await settle()
    expect(t.frames).toEqual([]) // not at once: the ack waits to cover more frames
    await vi.waitFor(() => expect(t.frames).toEqual([[FrameType.ACK, 2]]), { timeout: 1_000, interval: 2 })
    expect(Date.now() - start).toBeGreaterThanOrEqual(ACK_DELAY_MS - 2)
  })

  it(`acks at once when ${ACK_EVERY_FRAMES} frames are unacked`, async () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.receive(range(1, ACK_EVERY_FRAMES).map(publishFrame))
    await settle()
    expect(t.frames).toEqual([[FrameType.ACK, ACK_EVERY_FRAMES]])
  })

  it('sends no ACK frame for frames a REPLY answers (the client takes the reply as the ack), and acks the rest', async () => {
    const { session } = createSession({ dispatch: (s, frame) => (frame[1] === 2 ? s.reply(2, 'two') : undefined) })
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.receive([publishFrame(1), publishFrame(2)])
    await settle()
    expect(t.frames).toEqual([[FrameType.REPLY, 1, 2, null, 'two']])
    await new Promise((resolve) => setTimeout(resolve, ACK_DELAY_MS * 3))
    await settle()
    expect(t.frames).toEqual([[FrameType.REPLY, 1, 2, null, 'two']])
    session.receive([publishFrame(3)])
    await vi.waitFor(() => expect(t.frames.at(-1)).toEqual([FrameType.ACK, 3]), { timeout: 1_000, interval: 2 })
  })

  it('sends no ACK frame when the caller answers with the ack itself', async () => {
    const { session, dispatched } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.receive([publishFrame(1)], true)
    expect(seqsOf(dispatched)).toEqual([1])
    await new Promise((resolve) => setTimeout(resolve, ACK_DELAY_MS * 3))
    await settle()
    expect(t.frames).toEqual([])
  })
})

describe('Session end', () => {
  it('ends with INTERNAL, reconnect at once, when its line throws while written to', async () => {
    const { session, onEnd } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    await settle()
    t.send = () => {
      throw new Error('the line broke mid-write')
    }
    session.sendMessage(bodyFor(1))
    await settle()
    expect(session.ended).toBe(true)
    expect(onEnd.mock.calls[0]![1]).toBe('INTERNAL')
    expect(t.closedWith).toBe('INTERNAL')
  })

  it('sends the final ACK and a CLOSE frame, closes the line with the code and calls onEnd once', () => {
    const { session, onEnd } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    session.end('SERVER_SHUTDOWN', 1_000)
    expect(t.batches.at(-1)).toEqual([
      [FrameType.ACK, 0],
      [FrameType.CLOSE, 'SERVER_SHUTDOWN', 'The server is shutting down', 1_000],
    ])
    expect(t.closedWith).toBe('SERVER_SHUTDOWN')
    expect(session.ended).toBe(true)
    expect(session.transport).toBeNull()
    expect(onEnd).toHaveBeenCalledTimes(1)
    expect(onEnd.mock.calls[0]![0]).toBe(session)
    expect(onEnd.mock.calls[0]![1]).toBe('SERVER_SHUTDOWN')
    session.end('INTERNAL')
    expect(onEnd).toHaveBeenCalledTimes(1)
    expect(t.batches).toHaveLength(2)
  })

  it('carries a custom message and a null reconnectMs by default', () => {
    const { session } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.end('BATCH_TOO_LARGE', undefined, 'too big')
    expect(t.frames).toEqual([
      [FrameType.ACK, 0],
      [FrameType.CLOSE, 'BATCH_TOO_LARGE', 'too big', null],
    ])
  })

  it('flushes unsent data and the exact ack of processed client frames before CLOSE, and keeps them as final words', async () => {
    const { session, onEnd } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, true)
    session.receive([publishFrame(1), publishFrame(2)])
    session.sendMessage(bodyFor(1))
    session.sendMessage(bodyFor(2)) // not flushed yet: end() must carry them
    session.end('SERVER_SHUTDOWN', 500)
    const last = t.batches.at(-1)!
    expect(last.map((f) => f[0])).toEqual([FrameType.ACK, FrameType.MESSAGE, FrameType.MESSAGE, FrameType.CLOSE])
    expect(last[0]).toEqual([FrameType.ACK, 2])
    const final = onEnd.mock.calls[0]![2] as EndedSession
    // A client that comes back holding seq 1 gets seq 2, the ack and the CLOSE, behind a WELCOME.
    const replay = JSON.parse(final.batchFor(1)) as unknown[][]
    expect(replay.map((f) => f[0])).toEqual([FrameType.WELCOME, FrameType.MESSAGE, FrameType.ACK, FrameType.CLOSE])
    expect(replay[1]![1]).toBe(2)
    expect(JSON.parse(final.ackBatch())).toEqual([[FrameType.ACK, 2]])
  })

  it('ends without writing when no line can carry the CLOSE frame', () => {
    const { session, onEnd } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    t.writable = false
    session.end('SESSION_LOST')
    expect(t.batches).toEqual([])
    expect(t.closedWith).toBe('SESSION_LOST')
    expect(onEnd).toHaveBeenCalledTimes(1)
    expect(onEnd.mock.calls[0]![1]).toBe('SESSION_LOST')
  })

  it('ignores everything after the end', async () => {
    const { session, dispatched } = createSession()
    const t = new FakeTransport()
    session.attach(t, 0, false)
    session.end('SESSION_LOST')
    session.sendMessage(bodyFor(1))
    session.reply(1, 'x')
    session.receive([publishFrame(1)])
    await settle()
    expect(dispatched).toEqual([])
    expect(session.unacked).toBe(0)
    expect(t.frames.map((f) => f[0])).toEqual([FrameType.ACK, FrameType.CLOSE])
    expect(session.tick(Date.now())).toBe(false)
  })

  it('refuses a channel message past the replay buffer (frames), queueing nothing, and stays open', async () => {
    const { session, onEnd } = createSession({ replayBufferFrames: 3, recoveryMs: 4_000 })
    const t = new FakeTransport()
    session.attach(t, 0, true)
    for (let n = 1; n <= 3; n++) expect(session.sendMessage(bodyFor(n))).toBe(true)
    await settle()
    expect(session.sendMessage(bodyFor(4))).toBe(false)
    await settle()
    expect(session.ended).toBe(false)
    expect(onEnd).not.toHaveBeenCalled()
    expect(session.unacked).toBe(3)
    expect(t.dataSeqs).toEqual([1, 2, 3])
  })

  it('refuses a channel message past the replay buffer (bytes), even while detached, but never a reply', () => {
    const frameLength = encodeMessage(1, bodyFor(1)).length
    const { session } = createSession({ replayBufferBytes: frameLength * 2 + 1 })
    expect(session.sendMessage(bodyFor(1))).toBe(true)
    expect(session.sendMessage(bodyFor(2))).toBe(true)
    expect(session.sendMessage(bodyFor(3))).toBe(false)
    expect(session.unacked).toBe(2)
    session.reply(1, 'x'.repeat(frameLength))
    expect(session.unacked).toBe(3)
    expect(session.ended).toBe(false)
  })

  it('takes one channel message larger than the whole buffer when the buffer is empty', () => {
    const { session } = createSession({ replayBufferBytes: 10 })
    expect(session.sendMessage(bodyFor(1))).toBe(true)
    expect(session.sendMessage(bodyFor(2))).toBe(false)
    expect(session.unacked).toBe(1)
  })

  it('tells each waiter once when acks bring the buffer under a quarter of its bound, on an ack or a reattach', async () => {
    const { session } = createSession({ replayBufferFrames: 8 })
    const t = new FakeTransport()
    session.attach(t, 0, false)
    for (let n = 1; n <= 8; n++) session.sendMessage(bodyFor(n))
    await settle()
    const woken: string[] = []
    const waiter = (name: string) => ({ onRoom: () => void woken.push(name) })
    const [a, b] = [waiter('a'), waiter('b')]
    session.waitForRoom(a)
    session.waitForRoom(a)
    session.waitForRoom(b)
    session.receive([[FrameType.ACK, 6]]) // 2 of 8 left: not under a quarter yet
    expect(woken).toEqual([])
    session.receive([[FrameType.ACK, 7]])
    expect(woken).toEqual(['a', 'b'])
    session.receive([[FrameType.ACK, 8]])
    expect(woken).toEqual(['a', 'b']) // once per wait

    for (let n = 9; n <= 16; n++) session.sendMessage(bodyFor(n))
    session.waitForRoom(a)
    session.detach(t, 'gone')
    session.attach(new FakeTransport(), 15, false) // the reattach's ack frees room too
    expect(woken).toEqual(['a', 'b', 'a'])
  })

  it('forgets its waiters once ended', () => {
    const { session } = createSession({ replayBufferFrames: 4 })
    const woken: string[] = []
    session.waitForRoom({ onRoom: () => void woken.push('a') })
    session.end('SESSION_LOST')
    session.waitForRoom({ onRoom: () => void woken.push('b') })
    session.acked(0)
    expect(woken).toEqual([])
  })

  it('stays within its bound while the client keeps acking', async () => {
    const { session } = createSession({ replayBufferFrames: 3 })
    const t = new FakeTransport()
    session.attach(t, 0, false)
    for (let n = 1; n <= 30; n++) {
      session.sendMessage(bodyFor(n))
      await settle()
      session.receive([[FrameType.ACK, n]])
      expect(session.unacked).toBe(0)
    }
    expect(session.ended).toBe(false)
    expect(t.dataSeqs).toEqual(range(1, 30))
  })
})

describe('Session tick', () => {
  it('expires recoveryMs after the line went away', () => {
    const { session } = createSession({ recoveryMs: 5_000 })
    const t = new FakeTransport('long-polling')
    session.attach(t, 0, false)
    expect(session.tick(Date.now() + 60_000)).toBe(true) // attached: no expiry
    session.detach(t, 'gone')
    const at = session.detachedAt
    expect(session.tick(at + 4_999)).toBe(true)
    expect(session.tick(at + 5_000)).toBe(false)
  })

  it('expires a session that never got a line', () => {
    const { session } = createSession({ recoveryMs: 100 })
    expect(session.tick(session.detachedAt + 99)).toBe(true)
    expect(session.tick(session.detachedAt + 100)).toBe(false)
  })

  it('stops the expiry clock when a line attaches again', () => {
    const { session } = createSession({ recoveryMs: 100 })
    const t = new FakeTransport('long-polling')
    const at = session.detachedAt
    session.attach(t, 0, false)
    expect(session.tick(at + 1_000)).toBe(true)
  })

  it('pings every heartbeatMs', async () => {
    const { session } = createSession({ heartbeatMs: 1_000 })
    const t = new FakeTransport()
    session.attach(t, 0, false)
    const start = session.lastPing
    session.lastSeen = start
    expect(session.tick(start + 999)).toBe(true)
    await settle()
    expect(t.frames).toEqual([])
    expect(session.tick(start + 1_000)).toBe(true)
    await settle()
    expect(t.frames).toEqual([[FrameType.PING]])
    session.lastSeen = start + 1_500
    expect(session.tick(start + 1_500)).toBe(true)
    await settle()
    expect(t.frames).toEqual([[FrameType.PING]])
  })

  it('closes a silent line with TIMEOUT and keeps the session for a reattach', () => {
    const { session, onEnd } = createSession({ heartbeatMs: 1_000, recoveryMs: 5_000 })
    const t = new FakeTransport()
    session.attach(t, 0, false)
    const seen = session.lastSeen
    expect(session.tick(seen + 2_000)).toBe(true)
    expect(t.closedWith).toBeNull()
    expect(session.tick(seen + 2_001)).toBe(true)
    expect(t.closedWith).toBe('TIMEOUT')
    expect(session.transport).toBeNull()
    expect(session.ended).toBe(false)
    expect(onEnd).not.toHaveBeenCalled()
    expect(session.tick(session.detachedAt + 5_000)).toBe(false)
  })

  it('neither pings nor times out a long poll', async () => {
    const { session } = createSession({ heartbeatMs: 1_000 })
    const t = new FakeTransport('long-polling')
    session.attach(t, 0, false)
    expect(session.tick(session.lastSeen + 10_000)).toBe(true)
    await settle()
    expect(t.closedWith).toBeNull()
    expect(t.frames).toEqual([])
  })
})

describe('Session under a lossy client (property)', () => {
  /** The client side: resends every frame after the server's WELCOME ack, in chunks, some lost, duplicated or reordered. */
  const chunk = fc.record({
    take: fc.integer({ min: 0, max: 6 }),
    drop: fc.array(fc.nat(), { maxLength: 2 }),
    duplicate: fc.array(fc.nat(), { maxLength: 2 }),
    swap: fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: undefined }),
  })

  itProp.prop([fc.integer({ min: 1, max: 40 }), fc.array(chunk, { maxLength: 30 })])(
    'dispatches every client frame exactly once and in order',
    (total, chunks) => {
      const { session, dispatched } = createSession()
      let next = 1 // the client's first frame not yet put on a line since the last reattach
      for (const c of chunks) {
        const batch = range(next, Math.min(total, next + c.take - 1))
        next += batch.length
        for (const i of c.drop) if (batch.length > 0) batch.splice(i % batch.length, 1)
        for (const i of c.duplicate) if (batch.length > 0) batch.push(batch[i % batch.length]!)
        if (c.swap && batch.length > 1) {
          const [i, j] = [c.swap[0] % batch.length, c.swap[1] % batch.length]
          ;[batch[i], batch[j]] = [batch[j]!, batch[i]!]
        }
        session.receive(batch.map(publishFrame))
        if (c.drop.length > 0) {
          // The client reattaches: the WELCOME says what the server holds; resend from there.
          const t = new FakeTransport()
          session.attach(t, 0, true)
          const welcome = t.frames[0]!
          expect(welcome[0]).toBe(FrameType.WELCOME)
          next = (welcome as [number, number])[1] + 1
        }
        expect(seqsOf(dispatched)).toEqual(range(1, session.received))
      }
      session.receive(range(next, total).map(publishFrame))
      const t = new FakeTransport()
      session.attach(t, 0, true)
      session.receive(range((t.frames[0] as [number, number])[1] + 1, total).map(publishFrame))
      expect(seqsOf(dispatched)).toEqual(range(1, total))
      session.end('SESSION_LOST')
    },
  )

  type Op = { op: 'send'; n: number } | { op: 'flush' } | { op: 'lose' } | { op: 'ack' } | { op: 'reattach' }
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.integer({ min: 1, max: 5 }).map((n) => ({ op: 'send', n }) as const),
    fc.constant({ op: 'flush' } as const),
    fc.constant({ op: 'lose' } as const),
    fc.constant({ op: 'ack' } as const),
    fc.constant({ op: 'reattach' } as const),
  )

  itProp.prop([fc.array(op, { maxLength: 40 })], { numRuns: 60 })(
    'delivers every server frame to the client exactly once and in order across lost lines and reattaches',
    async (ops) => {
      const bound = 200
      const { session } = createSession({ replayBufferFrames: bound })
      const delivered: number[] = []
      let clientLast = 0
      let clientAcked = 0
      let published = 0
      /** A line whose batches the client reads, unless it was lost. */
      const lines: { t: FakeTransport; read: number; lost: boolean }[] = []
      const read = () => {
        for (const line of lines) {
          if (line.lost) continue
          for (; line.read < line.t.frames.length; line.read++) {
            const f = line.t.frames[line.read]!
            if (f[0] !== FrameType.MESSAGE) continue
            if (classifySeq(clientLast, f[1]) !== 'deliver') continue
            clientLast = f[1]
            delivered.push((f[3] as { n: number }).n)
          }
        }
      }
      const reattach = () => {
        const t = new FakeTransport()
        lines.push({ t, read: 0, lost: false })
        session.attach(t, clientLast, true)
      }
      reattach()
      for (const o of ops) {
        switch (o.op) {
          case 'send':
            for (let i = 0; i < o.n; i++) session.sendMessage(bodyFor(++published))
            break
          case 'flush':
            await settle()
            break
          case 'lose': {
            const line = lines.at(-1)!
            line.lost = true
            session.detach(line.t, 'lost')
            break
          }
          case 'ack':
            if (lines.at(-1)!.lost) break // no line to send it on
            read()
            clientAcked = clientLast
            session.receive([[FrameType.ACK, clientAcked]])
            break
          case 'reattach':
            read()
            reattach()
            clientAcked = clientLast
            break
        }
        read()
        expect(delivered).toEqual(range(1, delivered.length))
        expect(session.unacked).toBe(published - clientAcked)
        expect(session.unacked).toBeLessThanOrEqual(bound)
      }
      read()
      reattach()
      await settle()
      read()
      expect(delivered).toEqual(range(1, published))
      session.receive([[FrameType.ACK, clientLast]])
      expect(session.unacked).toBe(0)
      expect(session.ended).toBe(false)
      session.end('SESSION_LOST')
    },
  )
})
