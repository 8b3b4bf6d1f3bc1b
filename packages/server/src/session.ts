import {
  ACK_DELAY_MS,
  ACK_EVERY_FRAMES,
  encodeAck,
  encodeBatch,
  encodeData,
  encodeFrame,
  encodeMessage,
  FrameType,
  Sequencer,
  SwitchboardError,
  type BatchLimits,
  type ClientDataFrame,
  type ClientFrame,
  type ErrorCode,
  type TransportName,
} from '@switchboard/protocol'
import { Backlog } from './backlog.js'
import { EndedSession } from './ended-session.js'
import { queueFlush } from './flush-queue.js'
import type { Logger } from './log.js'
import { TRANSPORTS } from './transports/index.js'
import type { ServerTransport, TransportHost, TransportTraits } from './transports/transport.js'

export interface SessionConfig {
  /** Every batch to the client, and every POST answer. */
  batch: BatchLimits
  replayBufferFrames: number
  replayBufferBytes: number
  /** Requests received but not yet processed, at most (count, and bytes as they came in batches). */
  maxPendingRequests: number
  maxPendingBytes: number
  heartbeatMs: number
  recoveryMs: number
  /** Data frames, in client seq order, exactly once. May return a promise: later frames wait for it. */
  dispatch(session: Session, frame: ClientDataFrame): void | Promise<void>
  /** The session is over: forget it, keeping `final` for a client that comes back to hear it. */
  onEnd(session: Session, code: ErrorCode, final: EndedSession): void
  logger: Logger | undefined
  /** UTF-8 size of a frame, to cut batches by bytes: Node's Buffer.byteLength; the protocol's utf8Length when absent. */
  byteLength?: (s: string) => number
}

const PING = encodeFrame([FrameType.PING])
const UNENCODABLE_RESULT = 'The result could not be encoded as JSON'

const PONG = encodeFrame([FrameType.PONG])
/** What a line's module declares of it (never on the per-message path). */
const traitsOf = (transport: ServerTransport): TransportTraits => TRANSPORTS[transport.name].traits

/** After a reattach, heartbeats queued for the old line are stale. */
const notHeartbeat = (frame: string) => frame !== PING && frame !== PONG

/**
 * One client's logical connection. The only place that knows seqs, acks, replay and dedupe:
 * outgoing data frames get a seq and stay in a replay buffer until the client acks them;
 * incoming data frames are delivered in seq order, exactly once, whatever line they came on.
 */
export class Session<Identity = unknown> implements TransportHost {
  readonly id: string
  readonly token: string
  readonly identity: Identity
  /** Last time anything arrived from the client (ms). */
  lastSeen = Date.now()
  lastPing = Date.now()
  /** When the last transport went away (ms), or 0 while one is attached. */
  detachedAt = Date.now()

  #config: SessionConfig
  /** Seqs and acks both ways, the replay buffer, and control frames for the next batch. */
  #seq: Sequencer
  #transport: ServerTransport | null = null
  /** A long poll was answered and the client's next one is on its way. */
  #betweenPolls = false
  #queued = false
  #ackTimer: ReturnType<typeof setTimeout> | undefined
  #ended = false
  /** Data frames held back (made on the first): behind an async dispatch, or under backpressure. */
  #backlog: Backlog | null = null
  /** A PING went out to ask for the client's ack since the session fell behind. */
  #askedAck = false
  #busy = false
  /** The client's line is SSE or long polling (between polls too): POST answers carry frames. */
  #overHttp = false

  constructor(id: string, token: string, identity: Identity, config: SessionConfig) {
    this.id = id
    this.token = token
    this.identity = identity
    this.#config = config
    this.#seq = new Sequencer({
      maxUnackedFrames: config.replayBufferFrames,
      maxUnackedBytes: config.replayBufferBytes,
      byteLength: config.byteLength,
      // Acks say what was processed: frames held under backpressure are not acked until then.
      ackProcessed: true,
    })
  }

  get transport(): TransportName | null {
    return this.#transport?.name ?? null
  }

  /**
   * A long-polling client is there: its poll is held, or was answered and the next one is on its
   * way. False once the client abandoned a poll (it closed, or lost its network).
   */
  get polling(): boolean {
    return this.#betweenPolls || (this.#transport !== null && traitsOf(this.#transport).polled)
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Highest client seq delivered (what the server acks). */
  get received(): number {
    return this.#seq.processedSeq
  }

  /** Frames sent but not yet acked by the client. */
  get unacked(): number {
    return this.#seq.out.size
  }

  /**
   * Makes `transport` the session's line; any older line is closed as SUPERSEDED.
   * `clientAck` is the last server seq the client holds: everything after it is replayed.
   * `welcome` puts a WELCOME frame (the server's ack) first in the next batch.
   */
  attach(transport: ServerTransport, clientAck: number, welcome: boolean): void {
    if (this.#ended) throw new SwitchboardError('UNKNOWN_SESSION')
    const seq = this.#seq
    if (!seq.rewind(clientAck)) throw new SwitchboardError('BAD_REQUEST', `ack ${clientAck} is beyond the last seq sent (${seq.out.lastSeq})`)
    const old = this.#transport
    this.#transport = transport
    this.#betweenPolls = false
    this.#overHttp = traitsOf(transport).postsUpstream
    if (old && old !== transport) old.close('SUPERSEDED')
    this.detachedAt = 0
    this.lastSeen = Date.now()
    if (welcome) {
      seq.filterControl(notHeartbeat)
      seq.control(encodeFrame([FrameType.WELCOME, seq.processedSeq]), true)
      seq.acked()
    }
    this.#log('transport', `attached ${transport.name}`, { clientAck })
    this.#maybeResume()
    this.flush()
  }

  /** The transport's line is gone; the session waits recoveryMs for another. */
  detach(transport: ServerTransport, reason: string, clientLeft = false): void {
    if (this.#transport !== transport) return
    this.#transport = null
    this.#betweenPolls = traitsOf(transport).polled && !clientLeft
    this.detachedAt = Date.now()
    this.#log('transport', `detached ${transport.name}: ${reason}`)
  }

  drain(transport: ServerTransport): void {
    if (this.#transport === transport) this.#queueFlush()
  }

  /** The client holds every frame up to `ack` (an ACK frame, or the ack header of a POST). */
  acked(ack: number): void {
    if (!this.#seq.ack(ack)) this.#log('session', `ignored ack ${ack} beyond ${this.#seq.out.lastSeq}`)
    else this.#maybeResume()
  }

  /** An ack came: take the requests held back once it made room, or ask for the next one. */
  #maybeResume(): void {
    this.#askedAck = false
    if (this.#held() === 0 || this.#busy || this.#ended) return
    if (this.#caughtUp()) this.#resume()
    else this.#askForAck()
  }

  /**
   * Asks for the client's ack now, once per ack: a PING is answered on every line with a batch or
   * request that carries the ack, where a client with nothing to send (or a long poll holding no
   * data) would otherwise ack only after its ack delay, or at the poll timeout.
   */
  #askForAck(): void {
    if (this.#askedAck) return
    this.#askedAck = true
    this.#seq.control(PING)
    this.#queueFlush()
  }

  /** Frames from the client, on any line. `inlineAck`: the caller answers with the ack itself (POST). */
  receive(frames: readonly ClientFrame[], inlineAck = false, bytes = 0): void {
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
          this.#seq.control(PONG)
          this.#queueFlush()
          break
        case FrameType.PONG:
        case FrameType.HELLO:
          break
        default: {
          const verdict = this.#seq.accept(f[1])
          due = true
          if (verdict === 'deliver') this.#deliver(f, bytes / frames.length)
          else if (verdict === 'gap') this.#log('session', `dropped frame ${f[1]} after a gap (expected ${this.#seq.received + 1})`)
        }
      }
    }
    if (inlineAck) this.#seq.acked()
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
    return this.#seq.answerBatch(this.#config.batch, this.#overHttp && !this.#ended)
  }

  /** Sends a MESSAGE whose body was encoded once for every subscriber. */
  sendMessage(body: string): void {
    this.#append(encodeMessage(this.#seq.nextSeq, body), false)
  }

  /**
   * Answers the client's data frame `ref` with a result. Never throws: a result JSON cannot encode
   * (a BigInt, a cycle, nesting deeper than the stack, a throwing toJSON) is answered RPC_ERROR.
   */
  reply(ref: number, result: unknown): void {
    let json: string
    try {
      json = encodeData(result)
    } catch (e) {
      this.#log('session', `reply to ${ref} could not be encoded`, e)
      return this.replyError(ref, new SwitchboardError('RPC_ERROR', UNENCODABLE_RESULT))
    }
    // Built as text: the result is encoded once and no wrapper array is allocated per reply.
    this.#append(`[21,${this.#seq.nextSeq},${ref},null,${json}]`, true)
    this.#repliedTo(ref)
  }

  /** Answers the client's data frame `ref` with an error; error data JSON cannot encode is left out. */
  replyError(ref: number, error: SwitchboardError): void {
    const seq = this.#seq.nextSeq
    let frame: string | undefined
    if (error.data !== undefined) {
      try {
        frame = encodeFrame([FrameType.REPLY, seq, ref, error.code, error.message, error.data])
      } catch (e) {
        this.#log('session', `error data of the reply to ${ref} could not be encoded`, e)
      }
    }
    this.#append(frame ?? encodeFrame([FrameType.REPLY, seq, ref, error.code, error.message]), true)
    this.#repliedTo(ref)
  }

  /**
   * The client takes a REPLY to `ref` as the ack of its frames up to `ref`: no ACK frame is due
   * for those (a round trip carries no ACK). Should the reply be lost with the line, the next
   * attach's WELCOME carries the ack.
   */
  #repliedTo(ref: number): void {
    this.#seq.acked(ref)
  }

  /** Heartbeat and liveness, called by the switchboard's sweep. Returns false when the session should end. */
  tick(now: number): boolean {
    if (this.#ended) return false
    const t = this.#transport
    if (!t) return now - this.detachedAt < this.#config.recoveryMs
    if (traitsOf(t).polled) return true
    if (now - this.lastSeen > this.#config.heartbeatMs * 2) {
      t.close('TIMEOUT')
      this.detach(t, 'no traffic from the client')
    } else if (now - this.lastPing >= this.#config.heartbeatMs) {
      this.lastPing = now
      this.#seq.control(PING)
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
    const seq = this.#seq
    const ack = encodeAck(seq.processedSeq)
    try {
      if (t?.writable) t.send(encodeBatch([ack, ...seq.unsentFrames(), closeFrame]))
    } catch {
      // A line that broke while writing: the client hears the end from its final words.
    }
    const final = new EndedSession(
      this.token,
      seq.processedSeq,
      seq.unackedFrames(),
      seq.out.ackedSeq + 1,
      closeFrame,
      Date.now() + this.#config.recoveryMs,
    )
    this.#ended = true
    this.#transport = null
    t?.close(code)
    clearTimeout(this.#ackTimer)
    this.#backlog = null
    seq.clear()
    this.#log('session', `ended: ${code}`)
    this.#config.onEnd(this, code, final)
  }

  /** The flush threw (a fault of ours, say a line that broke mid-write): this session ends, no other. */
  flushFailed(error: unknown): void {
    this.#log('session', 'flush failed', error)
    this.end('INTERNAL', 0)
  }

  /** Writes what the current line can take. Called by the flush queue and on attach or drain. */
  flush(): void {
    this.#queued = false
    const t = this.#transport
    if (!t?.writable || this.#ended) return
    // The ack timer is left to run out: it finds nothing due then, and no timer is set and
    // cleared per round trip.
    const batch = this.#seq.nextBatch(this.#config.batch, true)
    if (batch === '') return
    if (t.send(batch) && this.#seq.unsent) this.#queueFlush()
  }

  /**
   * Queues a frame for the client. A channel message that finds the replay buffer full ends the
   * session with SLOW_CONSUMER (a subscriber that cannot keep up with a channel). A reply always
   * goes in: the session's own request/reply traffic is paced instead (see #deliver), so replies
   * pass the bound by at most what requests already in progress answer.
   */
  #append(frame: string, reply: boolean): void {
    if (this.#ended) return
    if (!reply && !this.#seq.out.hasRoom(frame.length)) {
      // Bounded memory per session: a client this far behind starts a new session at once and
      // catches up through channel history (subscribe `since`).
      this.end('SLOW_CONSUMER', 0)
      return
    }
    this.#seq.append(frame)
    this.#queueFlush()
  }

  /**
   * Processes a client frame, or holds it: behind an async dispatch (per-session order), or while
   * the client owes acks for half a replay buffer of our frames (backpressure: the client's outbox
   * fills, unacked, and it waits; acks and pings are still read). Held frames are not acked, so
   * a session that ends now tells the client exactly which to carry over.
   */
  #deliver(frame: ClientDataFrame, bytes: number): void {
    if (this.#busy || this.#held() > 0 || this.#behind()) {
      const config = this.#config
      const backlog = (this.#backlog ??= new Backlog())
      if (!backlog.fits(bytes, config.maxPendingRequests, config.maxPendingBytes)) {
        // Only a client that ignores its acks sends this far ahead.
        this.end('BACKLOG_FULL', null, `More than ${config.maxPendingRequests} requests or ${config.maxPendingBytes} bytes wait to be processed`)
        return
      }
      backlog.push(frame, bytes)
      if (!this.#busy) this.#askForAck()
      return
    }
    this.#dispatch(frame)
  }

  #dispatch(frame: ClientDataFrame): void {
    this.#seq.processed(frame[1])
    const pending = this.#config.dispatch(this, frame)
    if (pending) this.#wait(pending)
  }

  #held(): number {
    return this.#backlog === null ? 0 : this.#backlog.length
  }

  /** The client owes acks for half the replay buffer or more: stop taking its requests. */
  #behind(): boolean {
    const out = this.#seq.out
    return out.size * 2 >= this.#config.replayBufferFrames || out.bytes * 2 >= this.#config.replayBufferBytes
  }

  /** Back under a quarter of the replay buffer: take requests again (the gap avoids flapping). */
  #caughtUp(): boolean {
    const out = this.#seq.out
    return out.size * 4 < this.#config.replayBufferFrames && out.bytes * 4 < this.#config.replayBufferBytes
  }

  /** An async dispatch runs: later frames queue behind it (a closure only on this rarer path). */
  #wait(pending: Promise<void>): void {
    this.#busy = true
    const resume = () => this.#resume()
    pending.then(resume, resume)
  }

  #resume(): void {
    this.#busy = false
    let dispatched = false
    while (!this.#busy && this.#held() > 0 && !this.#ended && !this.#behind()) {
      this.#dispatch(this.#backlog!.shift())
      dispatched = true
    }
    if (dispatched) this.#scheduleAck()
  }

  #scheduleAck(): void {
    const owed = this.#seq.ackOwed
    if (owed <= 0) return // replies acked it all
    if (owed >= ACK_EVERY_FRAMES) this.#queueFlush()
    else this.#ackTimer ??= setTimeout(Session.#ackNow, ACK_DELAY_MS, this)
  }

  /** Shared by every session (the session comes as the timer's argument): no closure per session. */
  static #ackNow(session: Session): void {
    session.#ackTimer = undefined
    if (session.#seq.ackOwed > 0) session.#queueFlush()
  }

  #queueFlush(): void {
    if (this.#queued) return
    this.#queued = true
    queueFlush(this)
  }

  #log(kind: 'session' | 'transport', message: string, data?: unknown): void {
    const logger = this.#config.logger
    if (logger) logger({ kind, message, sessionId: this.id, data })
  }
}
