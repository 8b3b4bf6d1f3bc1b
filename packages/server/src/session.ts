import {
  ACK_DELAY_MS,
  ACK_EVERY_FRAMES,
  batchRoom,
  classifySeq,
  encodeAck,
  encodeBatch,
  wrapBatch,
  joinControl,
  encodeData,
  encodeFrame,
  encodeMessage,
  FrameType,
  ReplayBuffer,
  SwitchboardError,
  type ClientDataFrame,
  type ClientFrame,
  type ErrorCode,
  type TransportName,
} from '@switchboard/protocol'
import { FinalWords } from './final-words.js'
import type { Logger } from './log.js'
import type { ServerTransport, TransportHost } from './transports/transport.js'

export interface SessionConfig {
  maxBatchFrames: number
  maxBatchBytes: number
  replayBufferFrames: number
  replayBufferBytes: number
  heartbeatMs: number
  recoveryMs: number
  /** Data frames, in client seq order, exactly once. May return a promise: later frames wait for it. */
  dispatch(session: Session, frame: ClientDataFrame): void | Promise<void>
  /** The session is over: forget it, keeping `final` for a client that comes back to hear it. */
  onEnd(session: Session, code: ErrorCode, final: FinalWords): void
  logger: Logger | undefined
}

const PING = encodeFrame([FrameType.PING])
const PONG = encodeFrame([FrameType.PONG])

/** Sessions with frames to write, flushed together once the current callback is done. */
let dirty: Session[] = []
const resolved = Promise.resolve()
let flushScheduled = false
function flushDirty(): void {
  flushScheduled = false
  const list = dirty
  dirty = []
  for (let i = 0; i < list.length; i++) list[i]!.flush()
}

/**
 * One client's logical connection. The only place that knows seqs, acks, replay and dedupe:
 * outgoing data frames get a seq and stay in a replay buffer until the client acks them;
 * incoming data frames are delivered in seq order, exactly once, whatever line they came on.
 */
export class Session<Identity = unknown> implements TransportHost {
  readonly id: string
  readonly token: string
  readonly identity: Identity
  readonly subscriptions = new Set<string>()
  /** Last time anything arrived from the client (ms). */
  lastSeen = Date.now()
  lastPing = Date.now()
  /** When the last transport went away (ms), or 0 while one is attached. */
  detachedAt = Date.now()

  #config: SessionConfig
  #out: ReplayBuffer
  /** Highest client seq delivered. */
  #inLast = 0
  /** Highest client seq acked to the client. */
  #inAcked = 0
  /** Highest own seq written to the current transport. */
  #sent = 0
  /** Unsequenced frames for the next batch (WELCOME first when present). */
  #control: string[] = []
  #transport: ServerTransport | null = null
  #queued = false
  #ackTimer: ReturnType<typeof setTimeout> | undefined
  #ended = false
  /** Data frames waiting while an async dispatch runs, to keep per-session order. */
  #backlog: ClientDataFrame[] = []
  #busy = false
  /** The client's line is SSE or long polling (between polls too): POST answers carry frames. */
  #overHttp = false

  constructor(id: string, token: string, identity: Identity, config: SessionConfig) {
    this.id = id
    this.token = token
    this.identity = identity
    this.#config = config
    this.#out = new ReplayBuffer(config.replayBufferFrames, config.replayBufferBytes, Buffer.byteLength)
  }

  get transport(): TransportName | null {
    return this.#transport?.name ?? null
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Highest client seq delivered (what the server acks). */
  get received(): number {
    return this.#inLast
  }

  /** Frames sent but not yet acked by the client. */
  get unacked(): number {
    return this.#out.size
  }

  /**
   * Makes `transport` the session's line; any older line is closed as SUPERSEDED.
   * `clientAck` is the last server seq the client holds: everything after it is replayed.
   * `welcome` puts a WELCOME frame (the server's ack) first in the next batch.
   */
  attach(transport: ServerTransport, clientAck: number, welcome: boolean): void {
    if (this.#ended) throw new SwitchboardError('UNKNOWN_SESSION')
    if (!this.#out.ack(clientAck))
      throw new SwitchboardError('BAD_REQUEST', `ack ${clientAck} is beyond the last seq sent (${this.#out.lastSeq})`)
    const old = this.#transport
    this.#transport = transport
    this.#overHttp = transport.name !== 'websocket'
    if (old && old !== transport) old.close('SUPERSEDED')
    // An ack older than one already received (a poll that left before an ACK frame) must not resend twice.
    this.#sent = Math.max(clientAck, this.#out.ackedSeq)
    this.detachedAt = 0
    this.lastSeen = Date.now()
    if (welcome) {
      this.#control = this.#control.filter((f) => f !== PING && f !== PONG)
      this.#control.unshift(encodeFrame([FrameType.WELCOME, this.#inLast]))
      this.#inAcked = this.#inLast
    }
    this.#log('transport', `attached ${transport.name}`, { clientAck })
    this.flush()
  }

  /** The transport's line is gone; the session waits recoveryMs for another. */
  detach(transport: ServerTransport, reason: string): void {
    if (this.#transport !== transport) return
    this.#transport = null
    this.detachedAt = Date.now()
    this.#log('transport', `detached ${transport.name}: ${reason}`)
  }

  drain(transport: ServerTransport): void {
    if (this.#transport === transport) this.#queueFlush()
  }

  /** The client holds every frame up to `ack` (an ACK frame, or the ack header of a POST). */
  acked(ack: number): void {
    if (!this.#out.ack(ack)) this.#log('session', `ignored ack ${ack} beyond ${this.#out.lastSeq}`)
  }

  /** Frames from the client, on any line. `inlineAck`: the caller answers with the ack itself (POST). */
  receive(frames: readonly ClientFrame[], inlineAck = false): void {
    if (this.#ended) return
    this.lastSeen = Date.now()
    let due = false
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!
      switch (f[0]) {
        case FrameType.ACK:
          this.acked(f[1])
          break
        case FrameType.PING:
          this.#control.push(PONG)
          this.#queueFlush()
          break
        case FrameType.PONG:
        case FrameType.HELLO:
          break
        default: {
          const verdict = classifySeq(this.#inLast, f[1])
          due = true
          if (verdict === 'deliver') {
            this.#inLast = f[1]
            this.#deliver(f)
          } else if (verdict === 'gap') {
            this.#log('session', `dropped frame ${f[1]} after a gap (expected ${this.#inLast + 1})`)
          }
        }
      }
    }
    if (inlineAck) this.#inAcked = this.#inLast
    else if (due) this.#scheduleAck()
  }

  /**
   * The answer to a POST of client frames (SSE and long polling): the ack of what it carried,
   * then the frames waiting to go out, typically the replies to the POST's own calls, so a call
   * is answered in one HTTP exchange instead of a POST and an event (or the next poll). A poll or
   * event sent meanwhile may carry some of them again or overtake them: the client drops
   * duplicates and holds early frames. Should the line change first, the next attach replays
   * from the client's ack, so frames the client drops from an old line are not lost.
   */
  postAnswer(): string {
    const ack = encodeAck(this.#inLast)
    this.#inAcked = this.#inLast
    if (!this.#overHttp || this.#ended) return `[${ack}]`
    if (this.#sent < this.#out.ackedSeq) this.#sent = this.#out.ackedSeq
    const data = this.#out.framesAfter(this.#sent, this.#config.maxBatchFrames - 1, this.#config.maxBatchBytes - ack.length - 1)
    if (data.length === 0) return `[${ack}]`
    this.#sent += data.length
    return `[${ack},${data.join(',')}]`
  }

  /** Sends a MESSAGE whose body was encoded once for every subscriber. */
  sendMessage(body: string): void {
    this.#append(encodeMessage(this.#out.nextSeq, body))
  }

  /** Answers the client's data frame `ref` with a result. */
  reply(ref: number, result: unknown): void {
    // Built as text: the result is encoded once and no wrapper array is allocated per reply.
    this.#append(`[21,${this.#out.nextSeq},${ref},null,${encodeData(result)}]`)
    this.#repliedTo(ref)
  }

  /** Answers the client's data frame `ref` with an error. */
  replyError(ref: number, error: SwitchboardError): void {
    const frame =
      error.data === undefined
        ? encodeFrame([FrameType.REPLY, this.#out.nextSeq, ref, error.code, error.message])
        : encodeFrame([FrameType.REPLY, this.#out.nextSeq, ref, error.code, error.message, error.data])
    this.#append(frame)
    this.#repliedTo(ref)
  }

  /**
   * The client takes a REPLY to `ref` as the ack of its frames up to `ref`: no ACK frame is due
   * for those (a round trip carries no ACK). Should the reply be lost with the line, the next
   * attach's WELCOME carries the ack.
   */
  #repliedTo(ref: number): void {
    if (ref > this.#inAcked) this.#inAcked = ref
  }

  /** Heartbeat and liveness, called by the switchboard's sweep. Returns false when the session should end. */
  tick(now: number): boolean {
    if (this.#ended) return false
    const t = this.#transport
    if (!t) return now - this.detachedAt < this.#config.recoveryMs
    if (t.name === 'long-polling') return true
    if (now - this.lastSeen > this.#config.heartbeatMs * 2) {
      t.close('TIMEOUT')
      this.detach(t, 'no traffic from the client')
    } else if (now - this.lastPing >= this.#config.heartbeatMs) {
      this.lastPing = now
      this.#control.push(PING)
      this.#queueFlush()
    }
    return true
  }

  /**
   * Ends the session: the client is told why (CLOSE frame, then the line's close code) and
   * `reconnectMs` says whether and when to come back with a new session (null: do not).
   */
  end(code: ErrorCode, reconnectMs: number | null = null, message?: string): void {
    if (this.#ended) return
    const t = this.#transport
    const closeFrame = encodeFrame([FrameType.CLOSE, code, message ?? new SwitchboardError(code).message, reconnectMs])
    // The last batch: what the client is owed, the exact ack of its frames, then CLOSE.
    // Everything up to that ack was processed; nothing after it will be.
    const ack = encodeAck(this.#inLast)
    if (t?.writable) t.send(encodeBatch([ack, ...this.#out.framesAfter(this.#sent), closeFrame]))
    const final = new FinalWords(
      this.token,
      this.#inLast,
      this.#out.framesAfter(this.#out.ackedSeq),
      this.#out.ackedSeq + 1,
      closeFrame,
      Date.now() + this.#config.recoveryMs,
    )
    this.#ended = true
    this.#transport = null
    t?.close(code)
    clearTimeout(this.#ackTimer)
    this.#control = []
    this.#backlog = []
    this.#out.clear()
    this.#log('session', `ended: ${code}`)
    this.#config.onEnd(this, code, final)
  }

  /** Writes what the current line can take. Called by the flush queue and on attach or drain. */
  flush(): void {
    this.#queued = false
    const t = this.#transport
    if (!t?.writable || this.#ended) return
    // The ack timer is left to run out: it finds nothing due then, and no timer is set and
    // cleared per round trip.
    const due = this.#inAcked < this.#inLast
    const ack = due ? encodeAck(this.#inLast) : ''
    if (due) this.#inAcked = this.#inLast
    const queued = this.#control
    const control = joinControl(queued, ack)
    if (this.#sent < this.#out.ackedSeq) this.#sent = this.#out.ackedSeq
    const room = Math.max(1, this.#config.maxBatchFrames - queued.length - (due ? 1 : 0))
    const count = this.#out.countAfter(this.#sent, room, batchRoom(this.#config.maxBatchBytes, control))
    if (count === 0 && control === '') return
    if (queued.length > 0) this.#control = []
    const data = this.#out.joinAfter(this.#sent, count)
    this.#sent += count
    const writable = t.send(wrapBatch(control, data))
    if (writable && this.#sent < this.#out.lastSeq) this.#queueFlush()
  }

  #append(frame: string): void {
    if (this.#ended) return
    if (!this.#out.hasRoom(frame.length)) {
      // Bounded memory per session: a client this far behind starts a new session at once and
      // catches up through channel history (subscribe `since`).
      this.end('SLOW_CONSUMER', 0)
      return
    }
    this.#out.append(frame)
    this.#queueFlush()
  }

  #deliver(frame: ClientDataFrame): void {
    if (this.#busy) {
      this.#backlog.push(frame)
      return
    }
    const pending = this.#config.dispatch(this, frame)
    if (pending) this.#wait(pending)
  }

  /** An async dispatch runs: later frames queue behind it (a closure only on this rarer path). */
  #wait(pending: Promise<void>): void {
    this.#busy = true
    const resume = () => this.#resume()
    pending.then(resume, resume)
  }

  #resume(): void {
    this.#busy = false
    while (!this.#busy && this.#backlog.length > 0 && !this.#ended) {
      const pending = this.#config.dispatch(this, this.#backlog.shift()!)
      if (pending) this.#wait(pending)
    }
  }

  #scheduleAck(): void {
    if (this.#inAcked >= this.#inLast) return // replies acked it all
    if (this.#inLast - this.#inAcked >= ACK_EVERY_FRAMES) this.#queueFlush()
    else this.#ackTimer ??= setTimeout(Session.#ackNow, ACK_DELAY_MS, this)
  }

  /** Shared by every session (the session comes as the timer's argument): no closure per session. */
  static #ackNow(session: Session): void {
    session.#ackTimer = undefined
    if (session.#inAcked < session.#inLast) session.#queueFlush()
  }

  #queueFlush(): void {
    if (this.#queued) return
    this.#queued = true
    dirty.push(this)
    if (!flushScheduled) {
      flushScheduled = true
      void resolved.then(flushDirty)
    }
  }

  #log(kind: 'session' | 'transport', message: string, data?: unknown): void {
    const logger = this.#config.logger
    if (logger) logger({ kind, message, sessionId: this.id, data })
  }
}
