import {
  decodeClientBatch,
  decodeServerBatch,
  encodeBatch,
  encodeFrame,
  encodeMessageBody,
  FrameType,
  PROTOCOL_VERSION,
  type ClientDataFrame,
  type ClientFrame,
  type ErrorCode,
  type ServerDataFrame,
} from '@switchboard/protocol'
import { ClientSession } from '../../packages/client/src/session.js'
import type { ClientTransport } from '../../packages/client/src/transports/transport.js'
import { WEBSOCKET_TRAITS } from '../../packages/client/src/transports/websocket.js'
import { Session } from '../../packages/server/src/session.js'
import type { ServerTransport } from '../../packages/server/src/transports/transport.js'

/**
 * A real server Session and a real ClientSession joined by in-memory lines, for model-based tests.
 *
 * A Line is one WebSocket-like connection: two FIFO queues of encoded batches (`up`: client to
 * server, `down`: server to client) that the test delivers, duplicates or loses at will. The
 * code around the sessions does what the real glue does: upstream batches are decoded and handed
 * to `Session.receive` (session-registry.ts), the first upstream batch of a line is the HELLO that attaches it
 * (transports/websocket.ts), and downstream batches are decoded and handled like
 * client/src/connection.ts: the WELCOME adopts the line (`ClientSession.attach`), later frames go
 * to `ClientSession.receive(frames, from)`, and a line that is no longer the client's is ignored.
 *
 * Everything either side sends or delivers is written down here, so a test can check
 * exactly-once, in-order delivery and the replay buffers against it.
 */

export const LIMITS = {
  /** Small batches, so replays span several batches and flushes chain. */
  maxBatchFrames: 4,
  /** Small enough that some batches are cut by bytes before they reach maxBatchFrames. */
  maxBatchBytes: 70,
  /** Small enough that a burst of requests while the line is down reaches it. */
  outboxFrames: 12,
  /** Large enough never to end the session (SLOW_CONSUMER is not modelled). */
  replayFrames: 1_000,
} as const

const TOKEN = 'token'

let lineIds = 0

export class Line {
  readonly id = ++lineIds
  /** Client to server batches in flight, oldest first. The first one is the HELLO. */
  up: string[] = []
  /** Server to client batches in flight, oldest first. The first one carries the WELCOME. */
  down: string[] = []
  /** The server has taken the HELLO (Session.attach ran for this line). */
  serverAttached = false
  /** The client has taken the WELCOME (ClientSession.attach ran for this line). */
  clientWelcomed = false
  /** Set when the server closed its end (SUPERSEDED): it writes nothing more, what is in flight stays. */
  serverClosed: ErrorCode | null = null
  /** The connection is gone: nothing more is carried either way. */
  dead = false
  /** Where batches of more than one frame over LIMITS.maxBatchBytes are noted, either way (there should be none). */
  readonly oversized: string[]

  readonly serverTransport: ServerTransport
  readonly clientTransport: ClientTransport

  constructor(oversized: string[] = []) {
    const line = this
    this.oversized = oversized
    this.serverTransport = {
      name: 'websocket',
      get writable() {
        return !line.dead && line.serverClosed === null
      },
      send(batch: string): boolean {
        if (line.dead || line.serverClosed !== null) return false
        line.check(batch)
        line.down.push(batch)
        return true
      },
      close(code: ErrorCode): void {
        line.serverClosed ??= code
      },
    }
    this.clientTransport = {
      name: 'websocket',
      traits: WEBSOCKET_TRAITS,
      open() {},
      attach() {},
      pause() {},
      send(batch: string): boolean {
        line.check(batch)
        if (!line.dead) line.up.push(batch)
        return true
      },
      close() {},
    }
  }

  /** Notes a batch that breaks the byte limit (a lone frame may: it cannot be split). */
  check(batch: string): void {
    if (Buffer.byteLength(batch) > LIMITS.maxBatchBytes && (JSON.parse(batch) as unknown[]).length > 1) this.oversized.push(batch)
  }

  /** Loses everything in flight and carries nothing more. */
  kill(): void {
    this.dead = true
    this.up = []
    this.down = []
  }
}

/** One server data frame as the server sent it: index + 1 is its seq. */
export type ServerSent = { kind: 'message' } | { kind: 'reply'; ref: number }
/** One client data frame as the client sent it: index + 1 is its seq. */
export type ClientSent = { kind: 'publish' | 'call' }

export class SessionPair {
  readonly session: Session<null>
  readonly client: ClientSession
  /** Live lines, oldest first; the last is the newest (the one the client is moving to or on). */
  lines: Line[] = []
  /** The line the client has adopted (took its WELCOME) and not lost since. */
  clientLine: Line | null = null

  /** What the client sent and the server sent, in seq order. */
  readonly clientSent: ClientSent[] = []
  readonly serverSent: ServerSent[] = []
  /** Client seqs the server dispatched, in dispatch order. */
  readonly dispatched: number[] = []
  /** Server seqs the client delivered through onData (MESSAGE frames), in order. */
  readonly clientMessages: number[] = []
  /** Server seqs of the REPLY frames whose request promise resolved, in resolution order. */
  readonly replySeqs: number[] = []
  /** Times each request (by client seq) resolved or rejected. */
  readonly settledTimes = new Map<number, number>()
  /** Requests successfully made (not refused with OUTBOX_FULL). */
  requests = 0
  /** Batches over the byte limit written by either side, on any line. */
  readonly oversized: string[] = []
  /** Highest ack each side has taken from the other: on attach, or in an ACK frame. */
  serverAckSeen = 0
  clientAckSeen = 0
  /** Frames dropped because they came after a gap (allowed: the replay fills it). */
  gaps = 0
  /** Broken expectations noticed inside callbacks, where throwing would disturb the session. */
  readonly violations: string[] = []

  constructor() {
    this.session = new Session<null>('sid', TOKEN, null, {
      batch: { maxFrames: LIMITS.maxBatchFrames, maxBytes: LIMITS.maxBatchBytes },
      replayBufferFrames: LIMITS.replayFrames,
      replayBufferBytes: 10_000_000,
      maxPendingRequests: 10_000,
      maxPendingBytes: 16_000_000,
      heartbeatMs: 1_000_000,
      recoveryMs: 1_000_000,
      dispatch: (session, frame) => this.#dispatch(session, frame),
      onEnd: (_s, code) => this.violations.push(`the server session ended: ${code}`),
      logger: undefined,
    })
    this.client = new ClientSession({
      maxOutboxFrames: LIMITS.outboxFrames,
      maxOutboxBytes: 10_000_000,
      onData: (frame) => this.#onData(frame),
      onGap: () => void this.gaps++,
    })
    this.client.setLimits({ maxBatchFrames: LIMITS.maxBatchFrames, maxBatchBytes: LIMITS.maxBatchBytes })
  }

  /** The newest line, if any. */
  get current(): Line | undefined {
    return this.lines[this.lines.length - 1]
  }

  /**
   * Opens a new line; its HELLO carries the client's ack now (as a transport's open does) and is
   * the line's first upstream batch. The client attaches when the WELCOME comes back.
   */
  openLine(): Line {
    const line = new Line(this.oversized)
    line.up.push(encodeBatch([encodeFrame([FrameType.HELLO, TOKEN, this.client.received, PROTOCOL_VERSION])]))
    this.lines.push(line)
    return line
  }

  /** The network is gone: every line and everything in flight is lost, and both sides detach. */
  cut(): void {
    for (const line of this.lines) {
      line.kill()
      this.session.detach(line.serverTransport, 'cut')
    }
    this.lines = []
    this.client.detach()
    this.clientLine = null
  }

  /** Loses one line (a superseded one, typically) and what it carries. */
  drop(line: Line): void {
    line.kill()
    this.session.detach(line.serverTransport, 'dropped')
    this.lines = this.lines.filter((l) => l !== line)
    if (this.clientLine === line) {
      this.client.detach()
      this.clientLine = null
    }
  }

  /** Delivers the oldest upstream batch of `line` to the server. Returns false when there is none. */
  deliverUp(line: Line): boolean {
    const text = line.up.shift()
    if (text === undefined) return false
    const frames = decodeClientBatch(text)
    if (!line.serverAttached) {
      const hello = frames[0]
      if (!hello || hello[0] !== FrameType.HELLO) {
        this.violations.push(`line ${line.id}: first upstream batch is not a HELLO: ${text}`)
        return true
      }
      line.serverAttached = true
      this.serverAckSeen = Math.max(this.serverAckSeen, hello[2])
      this.session.attach(line.serverTransport, hello[2], true)
      return true
    }
    for (const f of frames) if (f[0] === FrameType.ACK) this.serverAckSeen = Math.max(this.serverAckSeen, f[1])
    this.session.receive(frames)
    return true
  }

  /** Delivers the oldest downstream batch of `line` to the client. Returns false when there is none. */
  deliverDown(line: Line): boolean {
    const text = line.down.shift()
    if (text === undefined) return false
    const frames = decodeServerBatch(text)
    if (frames.some((f) => f[0] === FrameType.CLOSE)) this.violations.push(`line ${line.id}: CLOSE frame ${text}`)
    let from = 0
    if (!line.clientWelcomed) {
      const first = frames[0]
      if (!first || first[0] !== FrameType.WELCOME) {
        this.violations.push(`line ${line.id}: first downstream batch has no WELCOME first: ${text}`)
        return true
      }
      line.clientWelcomed = true
      this.clientLine = line
      this.clientAckSeen = Math.max(this.clientAckSeen, first[1])
      this.client.attach(line.clientTransport, first[1])
      from = 1
    }
    // connection.ts ignores batches from a line the client has moved off.
    if (this.clientLine !== line) return true
    for (let i = from; i < frames.length; i++) {
      const f = frames[i]!
      if (f[0] === FrameType.ACK) this.clientAckSeen = Math.max(this.clientAckSeen, f[1])
    }
    const before = this.client.received
    this.client.receive(frames, from)
    // A REPLY the client delivers acks the request it answers (and every frame before it).
    for (let i = from; i < frames.length; i++) {
      const f = frames[i]!
      if (f[0] === FrameType.REPLY && f[1] > before && f[1] <= this.client.received) this.clientAckSeen = Math.max(this.clientAckSeen, f[2])
    }
    return true
  }

  /** The client queues a PUBLISH or CALL; false when the outbox refused it (OUTBOX_FULL). */
  request(kind: 'publish' | 'call'): boolean {
    const expected = this.clientSent.length + 1
    let promise: Promise<unknown>
    try {
      promise = this.client.request((seq) => {
        if (seq !== expected) this.violations.push(`request got seq ${seq}, expected ${expected}`)
        return clientFrame(kind, seq)
      })
    } catch (e) {
      if ((e as { code?: string }).code !== 'OUTBOX_FULL') throw e
      return false
    }
    this.clientSent.push({ kind })
    this.requests++
    const ref = expected
    const settled = () => this.settledTimes.set(ref, (this.settledTimes.get(ref) ?? 0) + 1)
    promise.then(
      (result) => {
        settled()
        const r = result as { ref?: unknown; s?: unknown } | null
        if (!r || r.ref !== ref || typeof r.s !== 'number') {
          this.violations.push(`request ${ref} resolved with ${JSON.stringify(result)}`)
          return
        }
        const sent = this.serverSent[r.s - 1]
        if (sent?.kind !== 'reply' || sent.ref !== ref)
          this.violations.push(`request ${ref} resolved with reply seq ${r.s}, which the server sent as ${JSON.stringify(sent)}`)
        const last = this.replySeqs[this.replySeqs.length - 1] ?? 0
        if (r.s <= last) this.violations.push(`reply ${r.s} settled after reply ${last}`)
        this.replySeqs.push(r.s)
      },
      (error: unknown) => {
        settled()
        this.violations.push(`request ${ref} rejected: ${String(error)}`)
      },
    )
    return true
  }

  /** The server sends one MESSAGE whose data names its own seq. */
  serverMessage(): void {
    const seq = this.serverSent.length + 1
    this.serverSent.push({ kind: 'message' })
    this.session.sendMessage(encodeMessageBody('room', { s: seq }, seq))
  }

  /** Echo: every PUBLISH or CALL gets a REPLY and a MESSAGE, so both directions carry numbered data. */
  #dispatch(session: Session, frame: ClientDataFrame): void {
    const seq = frame[1]
    const sent = this.clientSent[seq - 1]
    if (seq !== this.dispatched.length + 1) this.violations.push(`server dispatched ${seq} after ${this.dispatched.length}`)
    const data = (frame as [number, number, string, { c?: number }])[3]
    if (!sent || data?.c !== seq || (frame[0] === FrameType.CALL) !== (sent.kind === 'call'))
      this.violations.push(`server dispatched ${JSON.stringify(frame)}, which the client never sent as ${seq}`)
    this.dispatched.push(seq)
    const replySeq = this.serverSent.length + 1
    this.serverSent.push({ kind: 'reply', ref: seq })
    session.reply(seq, { ref: seq, s: replySeq })
    this.serverMessage()
  }

  #onData(frame: ServerDataFrame): void {
    const seq = frame[1]
    const sent = this.serverSent[seq - 1]
    const data = frame[3] as { s?: number } | null
    if (frame[0] !== FrameType.MESSAGE || sent?.kind !== 'message' || data?.s !== seq)
      this.violations.push(`client delivered ${JSON.stringify(frame)}, which the server never sent as ${seq}`)
    const last = this.clientMessages[this.clientMessages.length - 1] ?? 0
    if (seq <= last) this.violations.push(`client delivered message ${seq} after message ${last}`)
    // Replies settle synchronously inside receive: every reply before this message must have
    // settled already, and none after it.
    const repliesBefore = this.serverSent.slice(0, seq - 1).filter((s) => s.kind === 'reply').length
    const settled = this.requests - this.client.pendingCount
    if (settled !== repliesBefore) this.violations.push(`at message ${seq}, ${settled} replies settled; the server sent ${repliesBefore} before it`)
    this.clientMessages.push(seq)
  }
}

function clientFrame(kind: 'publish' | 'call', seq: number): ClientFrame {
  return kind === 'publish' ? [FrameType.PUBLISH, seq, 'room', { c: seq }] : [FrameType.CALL, seq, 'echo', { c: seq }]
}
