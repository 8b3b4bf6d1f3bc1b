import {
  ACK_EVERY_FRAMES,
  encodeFrame,
  encodeRequest,
  exceedsBytes,
  PONG_FRAME,
  FrameType,
  QUEUED_BYTES,
  QUEUED_REQUESTS,
  Sequencer,
  SIZED_DATA_CHARS,
  SwitchboardError,
  type ClientFrame,
  type ServerDataFrame,
  type ServerFrame,
  type RequestType,
} from '@switchboard/protocol'
import { byteLength } from './bytes.js'
import { microtask } from './microtask.js'
import type { AckCarriage, ClientTransport } from './transports/transport.js'
import { WEBSOCKET_TRAITS } from './transports/websocket.js'
import { Requests } from './requests.js'
import type { ClientSessionConfig } from './session-config.js'
import { ServerLimits } from './server-limits.js'

const dropAll = () => false

/** Frames held ahead of a gap at most, and their size in characters; later ones are dropped (see onGap). */
const MAX_EARLY_FRAMES = 512
const MAX_EARLY_CHARS = 4 * 1024 * 1024

/**
 * The client half of a session: numbers outgoing data frames and keeps them in an outbox
 * until the server acks them; delivers incoming data frames once, in order; matches replies
 * to requests. It writes to whatever transport is attached, and holds frames while none is.
 */
export class ClientSession {
  #config: ClientSessionConfig
  /**
   * Seqs and acks both ways, the outbox, and frames that arrived ahead of a gap (a POST answer and
   * a poll answer, or an SSE event, can overtake each other: holding the later ones saves a resend).
   */
  #seq: Sequencer<ServerDataFrame>
  /** Every request until it settles: sent ones by seq, and those waiting for room in the outbox. */
  #requests: Requests
  #transport: ClientTransport | null = null
  #writable = false
  #ackTimer: ReturnType<typeof setTimeout> | undefined
  /** How the attached line carries the ack. */
  #ackBy: AckCarriage = WEBSOCKET_TRAITS.ack
  /** The ack is overdue: send it even alone (lines that ack `when-overdue`). */
  #ackOverdue = false
  #flushQueued = false
  /** Characters of requests appended since the last flush (see TransportTraits.flushPastChars). */
  #unflushed = 0
  /** Set once the client is closed: every later request fails with it. */
  #closedWith: SwitchboardError | null = null
  #limits = new ServerLimits()

  constructor(config: ClientSessionConfig) {
    this.#config = config
    this.#seq = this.#newSequencer()
    this.#requests = new Requests(config.maxQueuedRequests ?? QUEUED_REQUESTS, config.maxQueuedBytes ?? QUEUED_BYTES)
  }

  /** Its outbox within what the last server said it holds: a new session is most likely on a node of the same app. */
  #newSequencer(): Sequencer<ServerDataFrame> {
    const [maxUnackedFrames, maxUnackedBytes] = this.#limits.outbox(this.#config.maxOutboxFrames, this.#config.maxOutboxBytes)
    return new Sequencer({ maxUnackedFrames, maxUnackedBytes, maxEarlyFrames: MAX_EARLY_FRAMES, maxEarlyChars: MAX_EARLY_CHARS, byteLength })
  }

  /** Takes the server's limits from its negotiate answer: its batches, and the outbox within what it holds. */
  setLimits(limits: Parameters<ServerLimits['set']>[0]): void {
    this.#seq.out.bound(...this.#limits.set(limits).outbox(this.#config.maxOutboxFrames, this.#config.maxOutboxBytes))
  }

  get maxMessageBytes(): number {
    return this.#limits.maxMessageBytes
  }

  /** Last server seq delivered: what this client acks. */
  get received(): number {
    return this.#seq.received
  }

  /** Frames sent or queued and not yet acked by the server. */
  get unacked(): number {
    return this.#seq.out.size
  }

  /** True while no transport is attached: frames wait in the outbox. */
  get paused(): boolean {
    return this.#transport === null
  }

  /** Requests still waiting for their reply (those waiting for room in the outbox too). */
  get pendingCount(): number {
    return this.#requests.size
  }

  /**
   * Queues a data frame built with its seq and returns a promise for the server's reply.
   * Throws OUTBOX_FULL when the outbox is at its bound.
   */
  request(build: (seq: number) => ClientFrame, timeoutMs?: number): Promise<unknown> {
    if (this.#closedWith) throw this.#closedWith
    // Encoded with the seq it will get (after those waiting) to measure it; again if it has to wait.
    const frame = encodeFrame(build(this.#seq.nextSeq + this.#requests.queued))
    if (this.#fitsNow(frame)) return this.#enqueue(frame, timeoutMs)
    return this.#requests.wait((seq) => encodeFrame(build(seq)), frame.length, timeoutMs)
  }

  /**
   * A PUBLISH or CALL whose name and data are already encoded: no second JSON pass on the hot path.
   * Throws MESSAGE_TOO_LARGE when the data is over maxMessageBytes, before anything is queued.
   */
  requestData(type: RequestType, nameJson: string, dataJson: string, timeoutMs?: number): Promise<unknown> {
    const dataBytes = dataJson.length < SIZED_DATA_CHARS ? undefined : byteLength(dataJson)
    if (dataBytes === undefined ? exceedsBytes(dataJson, this.maxMessageBytes, byteLength) : dataBytes > this.maxMessageBytes)
      throw new SwitchboardError('MESSAGE_TOO_LARGE', `A ${type === FrameType.CALL ? 'call' : 'message'} exceeds ${this.maxMessageBytes} bytes`)
    if (this.#closedWith) throw this.#closedWith
    // UTF-8 bytes beyond the frame's length (its numbers and brackets are ASCII), for large data:
    // the outbox knows the frame's size without reading it (see SIZED_DATA_CHARS).
    const extra = dataBytes === undefined ? undefined : dataBytes - dataJson.length + byteLength(nameJson) - nameJson.length
    // Built only when it may go now: a request that waits is held as its parts.
    if (this.#requests.queued === 0) {
      const frame = encodeRequest(type, this.#seq.nextSeq, nameJson, dataJson)
      if (this.#seq.out.admits(frame.length)) return this.#enqueue(frame, timeoutMs, extra === undefined ? undefined : frame.length + extra)
    }
    return this.#requests.waitData(type, nameJson, dataJson, extra, timeoutMs)
  }

  /** The outbox has room for `frame` and no earlier request waits: it can go in now. */
  #fitsNow(frame: string): boolean {
    return this.#requests.queued === 0 && this.#seq.out.admits(frame.length)
  }

  /** Queues `frame`, encoded with nextSeq (UTF-8 size `bytes` when known), in the outbox and returns its reply's promise. */
  #enqueue(frame: string, timeoutMs: number | undefined, bytes?: number): Promise<unknown> {
    const promise = this.#requests.sent(this.#seq.append(frame, bytes), timeoutMs)
    if ((this.#unflushed += frame.length) >= (this.#transport?.traits.flushPastChars ?? Infinity)) this.flush()
    else this.#queueFlush()
    return promise
  }

  /** Moves waiting requests into the outbox while it has room; called when acks free some. */
  #refill(): void {
    if (this.#requests.refill(this.#seq)) this.#queueFlush()
  }

  /** Requests waiting for room in the outbox. */
  get queued(): number {
    return this.#requests.queued
  }

  /** Resolves once no request waits for room in the outbox. */
  drained(): Promise<void> {
    return this.#requests.drained()
  }

  /** A transport was welcomed: the server holds our frames up to `serverAck`; resend the rest there. */
  attach(transport: ClientTransport, serverAck: number): void {
    const seq = this.#seq
    if (!seq.rewind(serverAck)) throw new SwitchboardError('MALFORMED_FRAME', `Server acked ${serverAck}, beyond ${seq.out.lastSeq}`)
    this.#transport = transport
    this.#ackBy = transport.traits.ack
    this.#writable = true
    // The attach request told the server our ack as of when it left; frames may have arrived since
    // (from a paused old line during a switch), so ack once more on this line.
    seq.forgetAcked()
    this.#ackOverdue = seq.received > 0
    seq.filterControl(dropAll)
    if (this.#requests.queued > 0) this.#refill()
    this.flush()
  }

  detach(): void {
    this.#transport = null
    this.#writable = false
  }

  /** The attached transport can take more. */
  drain(): void {
    this.#writable = true
    this.flush()
  }

  /** Frames from the server, after the WELCOME. CLOSE and WELCOME are the connection's. */
  receive(frames: readonly ServerFrame[], from: number): void {
    let due = false
    for (let i = from; i < frames.length; i++) {
      const f = frames[i]!
      switch (f[0]) {
        case FrameType.ACK:
          this.#seq.ack(Math.min(f[1], this.#seq.out.lastSeq))
          break
        case FrameType.PING:
          this.#seq.control(PONG_FRAME)
          this.#queueFlush()
          break
        case FrameType.MESSAGE:
        case FrameType.REPLY:
        case FrameType.GAP: {
          const seq = this.#seq
          const verdict = seq.accept(f[1])
          due = true
          if (verdict === 'deliver') {
            this.#take(f)
            // Frames that came early (on another HTTP response) are next in line now.
            for (let next = seq.takeHeld(); next; next = seq.takeHeld()) this.#take(next)
          } else if (verdict === 'gap') {
            // Measured only here: frames rarely arrive ahead of a gap.
            if (!seq.hold(f[1], f, JSON.stringify(f).length)) this.#config.onGap?.(f[1], seq.received + 1)
          }
          break
        }
      }
    }
    if (due) this.#scheduleAck()
    if (this.#requests.queued > 0) this.#refill()
  }

  /**
   * Ends every request with `error` and forgets all state: the server session is gone.
   * `final`: the client is closed, and later requests fail with `error` too.
   */
  reset(error: SwitchboardError, final = false): void {
    if (final) this.#closedWith = error
    // Requests still waiting for room never left: a new session takes them, unless this is the end.
    this.#requests.rejectSent(error, final)
    this.#seq.clear()
    this.#seq = this.#newSequencer()
    this.#ackOverdue = false
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    this.detach()
  }

  /**
   * The session is gone; its frames that were surely never processed move, with their pending
   * promises, to the next session under new seqs, and the rest fail with `error`. `exactAck`: the
   * server ended it after processing exactly our frames up to its final ack (the ACK before its
   * CLOSE), so everything after that ack moves. Otherwise (the server forgot the session) only
   * the frames that never left this client move. When the server gave the session a
   * `publishKey`, every publish not acked moves too, each with its key, which the server
   * publishes once whether or not the lost session processed it.
   */
  carryOver(error: SwitchboardError, exactAck: boolean, publishKey?: string): void {
    const out = this.#seq.out
    const sent = exactAck ? out.ackedSeq : Math.max(out.ackedSeq, this.#seq.everSent)
    const keep: { frame: unknown[]; pending: ReturnType<Requests['take']> }[] = []
    for (const text of out.framesAfter(out.ackedSeq)) {
      const frame = JSON.parse(text) as unknown[]
      const seq = frame[1] as number
      const keyed = publishKey !== undefined && frame[0] === FrameType.PUBLISH
      if (seq <= sent && !keyed) continue
      // Keyed even when surely unprocessed: an answer the broker had not given yet may still come.
      if (keyed && frame.length === 4) frame.push(`${publishKey}.${seq}`)
      keep.push({ frame, pending: this.#requests.take(seq) })
    }
    this.reset(error)
    for (const { frame, pending } of keep) {
      frame[1] = this.#seq.nextSeq
      const seq = this.#seq.append(encodeFrame(frame as ClientFrame))
      if (pending) this.#requests.resend(seq, pending)
    }
    this.#refill()
  }

  flush(): void {
    this.#flushQueued = false
    this.#unflushed = 0
    const t = this.#transport
    if (!t || !this.#writable) return
    // The ack timer is left to run out (it finds nothing due): no timer set and cleared per reply.
    const ackBy = this.#ackBy
    const seq = this.#seq
    const withAck = ackBy.frames === 'every-batch' || (ackBy.frames === 'when-overdue' && this.#ackOverdue)
    const batch = seq.nextBatch(this.#limits.batchFor(t.traits), withAck)
    if (batch === '') return
    if (ackBy.inHeader) {
      seq.acked()
      this.#ackOverdue = false
    }
    this.#writable = t.send(batch)
    if (this.#writable && seq.unsent) this.#queueFlush()
  }

  /** Delivers the next frame in line. */
  #take(f: ServerDataFrame): void {
    if (f[0] === FrameType.REPLY) {
      // The server processes our frames in seq order: a reply to `ref` acks everything up to it,
      // without waiting for an ACK frame (over SSE that comes later, with the POST's answer).
      this.#seq.ack(Math.min(f[2], this.#seq.out.lastSeq))
      this.#requests.settle(f)
    } else this.#config.onData(f)
  }

  #scheduleAck(): void {
    if (this.#ackBy.frames === 'never') return
    if (this.#seq.ackOwed >= ACK_EVERY_FRAMES) {
      this.#ackOverdue = true
      this.#queueFlush()
    } else
      this.#ackTimer ??= setTimeout(() => {
        this.#ackTimer = undefined
        if (this.#seq.ackOwed <= 0) return
        this.#ackOverdue = true
        this.flush()
      }, this.#ackBy.delayMs)
  }

  #queueFlush(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    microtask(this.#flushNow)
  }

  #flushNow = () => this.flush()
}
