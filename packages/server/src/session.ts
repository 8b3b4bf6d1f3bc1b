import {
  encodeChannelFrame,
  encodeFrame,
  FrameType,
  Sequencer,
  SIZED_DATA_CHARS,
  SwitchboardError,
  utf8Length,
  type ChannelFrameType,
  type ClientFrame,
  type CloseFrame,
  type ErrorCode,
  type NegotiateResponse,
  type TransportName,
} from '@switchboard/protocol'
import { EndedSession } from './ended-session.js'
import { heartbeat, notHeartbeat } from './heartbeat.js'
import type { SessionConfig } from './session-config.js'
import { SessionMove } from './session-move.js'
import { LinePosts, WEBSOCKET_LINE } from './line-posts.js'
import { queueFlush } from './flush-queue.js'
import { encodeResult, encodeResultReply, errorReplyFrame, Unencodable, unencodableReplyFrame } from './replies.js'
import { type EarlyFrame, Inbound, receiveFrames } from './inbound.js'
import { hasRoomAgain, type RoomWaiter } from './slow-consumer.js'
import { traitsOf } from './transports/index.js'
import type { ServerTransport, TransportHost } from './transports/transport.js'

/**
 * One client's logical connection. The only place that knows seqs, acks, replay and dedupe:
 * outgoing data frames get a seq and stay in a replay buffer until the client acks them;
 * incoming data frames are delivered in seq order, exactly once, whatever line they came on.
 */
export class Session<Identity = unknown> implements TransportHost {
  readonly id: string
  readonly token: string
  /** Who the client is, as `authenticate` said (set again once when the session arrives from another node). */
  identity: Identity
  /** Last time anything arrived from the client (ms). */
  lastSeen = Date.now()
  lastPing = Date.now()
  /** When the last transport went away (ms), or 0 while one is attached. */
  detachedAt = Date.now()

  #config: SessionConfig
  /** Seqs and acks both ways, the replay buffer, and control frames for the next batch. */
  #seq: Sequencer<EarlyFrame>
  #transport: ServerTransport | null = null
  /** A long poll was answered and the client's next one is on its way. */
  #betweenPolls = false
  #queued = false
  #ended = false
  /** Client frames on their way to the app, paced (made on the first data frame). */
  #inbound: Inbound | null = null
  /** The POSTs and polls of the client's line (made as it attaches, kept by its polls): see LinePosts. */
  #posts: LinePosts | null = null
  /** Its move to or from another node (see `move`), or null. */
  #move: SessionMove | null = null
  /** Channel subscriptions whose frame found the replay buffer full (see waitForRoom). */
  #waiting: Set<RoomWaiter> | null = null

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
      // Two POSTs in flight may overtake each other: a batch waits for the one before (receiveFrames).
      maxEarlyFrames: config.batch.maxFrames,
      maxEarlyChars: config.batch.maxBytes,
    })
  }

  get transport(): TransportName | null {
    return this.#transport?.name ?? null
  }

  /** A long-polling client is there: a poll is held, or answered and the next on its way (not abandoned). */
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
   * Makes `transport` the session's line; any older line is closed as SUPERSEDED. An HTTP line the
   * client left (`line`, its number) takes nothing: SUPERSEDED is thrown (see LinePosts.superseded).
   * `clientAck` is the last server seq the client holds: what follows is replayed, but a line's next
   * poll (`poll` follows the last, whose answer was read) goes on after what the line was given (a
   * POST answer on its way may hold frames the ack misses); a poll asked again replays (lost-answers test).
   * `welcome` puts a WELCOME frame (the server's ack) first in the next batch; with `answer`, the
   * negotiate answer of a line that negotiated as it opened.
   */
  attach(transport: ServerTransport, clientAck: number, welcome: boolean, answer?: NegotiateResponse, line = 0, poll = 0): void {
    if (this.#ended) throw new SwitchboardError('UNKNOWN_SESSION')
    // The client tries again in a moment, and finds the session where it went.
    if (this.#move?.moving) throw new SwitchboardError('NODE_UNREACHABLE', 'The session is moving to another node')
    const http = traitsOf(transport).postsUpstream
    if (http && this.#posts?.superseded(line, welcome)) throw new SwitchboardError('SUPERSEDED', `Line ${line} was left for a newer one`)
    const seq = this.#seq
    const next = !welcome && this.#posts?.nextPoll(line, poll, this.#transport === null && this.#betweenPolls) === true
    const placed = next ? seq.ack(clientAck) : seq.rewind(clientAck)
    if (!placed) throw new SwitchboardError('BAD_REQUEST', `ack ${clientAck} is beyond the last seq sent (${seq.out.lastSeq})`)
    const old = this.#transport
    this.#transport = transport
    this.#betweenPolls = false
    if (welcome || !this.#posts) this.#posts = http ? new LinePosts(line, welcome) : WEBSOCKET_LINE
    if (old && old !== transport) old.close('SUPERSEDED')
    this.detachedAt = 0
    this.lastSeen = Date.now()
    if (welcome) {
      seq.filterControl(notHeartbeat)
      seq.control(encodeFrame(answer ? [FrameType.WELCOME, seq.processedSeq, answer] : [FrameType.WELCOME, seq.processedSeq]), true)
      seq.acked()
    }
    this.#log('transport', `attached ${transport.name}`, { clientAck })
    this.#freed()
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
    if (this.#transport === transport) this.flushSoon()
  }

  /** The client holds every frame up to `ack` (an ACK frame, or the ack header of a POST). */
  acked(ack: number): void {
    if (!this.#seq.ack(ack)) this.#log('session', `ignored ack ${ack} beyond ${this.#seq.out.lastSeq}`)
    else this.#freed()
  }

  /**
   * Calls `waiter.onRoom()` once, when acks have brought the replay buffer back under a quarter of
   * its bound (where paced requests are taken again too), after a sendMessage found it full.
   */
  waitForRoom(waiter: RoomWaiter): void {
    if (!this.#ended) (this.#waiting ??= new Set()).add(waiter)
  }

  /** Acks made room: requests held back, then channels that found the buffer full, may go on. */
  #freed(): void {
    this.#inbound?.acked()
    const waiting = this.#waiting
    if (waiting === null || this.#ended || !hasRoomAgain(this.#seq.out)) return
    this.#waiting = null
    for (const waiter of waiting) waiter.onRoom()
  }

  /** Frames from the client, on any line. `inlineAck`: a POST, answered once what this returns resolves. */
  receive(frames: readonly ClientFrame[], inlineAck = false, bytes = 0): Promise<void> | undefined {
    if (this.#ended) return
    this.lastSeen = Date.now()
    return receiveFrames(this, this.#seq, this.#config.logger, frames, inlineAck, bytes)
  }

  /**
   * The answer to a POST of client frames (SSE and long polling): the ack of what it carried, then
   * the frames waiting to go out, typically its own calls' replies (a call in one HTTP exchange).
   * POST `n` of `line` is judged by LinePosts: one sent again replays from `clientAck` (its header),
   * an old line's gets its ack alone.
   */
  postAnswer(n = 0, clientAck = 0, line = 0): string {
    const verdict = this.#posts?.judge(line, n) ?? 'late'
    if (verdict === 'again' && this.#seq.rewind(clientAck)) this.flushSoon()
    return this.#seq.answerBatch(this.#config.batch, verdict !== 'late' && !this.#ended)
  }

  /**
   * Queues a MESSAGE whose body was encoded once for every subscriber (or, with `type`, a GAP);
   * `bodyBytes`, the body's UTF-8 size when it was measured. False when the replay buffer has no
   * room for it: nothing was queued, and the channel's policy decides what happens (see waitForRoom).
   */
  sendMessage(body: string, type: ChannelFrameType = FrameType.MESSAGE, bodyBytes?: number): boolean {
    const frame = encodeChannelFrame(type, this.#seq.nextSeq, body)
    return this.#append(frame, 0, bodyBytes === undefined ? undefined : frame.length - body.length + bodyBytes)
  }

  /**
   * Answers the client's data frame `ref` with a result. Never throws: a result JSON cannot encode
   * is answered RPC_ERROR (see unencodableReplyFrame).
   */
  reply(ref: number, result: unknown): void {
    const json = encodeResult(result)
    if (json instanceof Unencodable) return void this.#append(unencodableReplyFrame(this.#seq.nextSeq, ref, json, this.#config.logger, this.id), ref)
    const frame = encodeResultReply(this.#seq.nextSeq, ref, json)
    // A large one's size from its parts (its numbers and brackets are ASCII): see SIZED_DATA_CHARS.
    const bytes = json.length < SIZED_DATA_CHARS ? undefined : frame.length - json.length + (this.#config.byteLength ?? utf8Length)(json)
    this.#append(frame, ref, bytes)
  }

  /** Answers the client's data frame `ref` with an error; error data JSON cannot encode is left out. */
  replyError(ref: number, error: SwitchboardError): void {
    this.#append(errorReplyFrame(this.#seq.nextSeq, ref, error, this.#config.logger, this.id), ref)
  }

  /** Its move to or from another node in the cluster (made on first use: most sessions never move). */
  get move(): SessionMove {
    return (this.#move ??= new SessionMove({
      seq: this.#seq,
      inbound: (make) => this.inbound(make),
      closeLine: () => {
        const line = this.#transport
        if (line) this.detach(line, 'moving to another node')
        line?.close('SUPERSEDED')
      },
      stop: () => this.#stop(),
      appendReply: (frame, ref) => this.#append(frame, ref),
    }))
  }

  /** Its client frames on their way to the app; with `make`, made if it has none yet. */
  inbound(make: boolean): Inbound | null {
    return make ? (this.#inbound ??= new Inbound(this, this.#seq, this.#config)) : this.#inbound
  }

  /** Heartbeat and liveness, called by the switchboard's sweep. Returns false when the session should end. */
  tick(now: number): boolean {
    return !this.#ended && heartbeat(this, this.#transport, this.#seq, this.#config, now)
  }

  /**
   * Ends the session: the client is told why (CLOSE frame, then the line's close code) and
   * `reconnectMs` says whether and when to come back with a new session (null: do not).
   */
  end(code: ErrorCode, reconnectMs: number | null = null, message?: string): void {
    if (this.#ended) return
    const t = this.#transport
    const close: CloseFrame = [FrameType.CLOSE, code, message ?? new SwitchboardError(code).message, reconnectMs]
    const final = EndedSession.told(t, this.token, this.#seq, close, Date.now() + this.#config.recoveryMs)
    this.#transport = null
    t?.close(code)
    this.#stop()
    this.#log('session', `ended: ${code}`)
    this.#config.onEnd(this, code, final)
  }

  /** No more frames either way: the session is over here. */
  #stop(): void {
    this.#ended = true
    this.#inbound?.end()
    this.#seq.clear()
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
    if (t.send(batch) && this.#seq.unsent) this.flushSoon()
  }

  /**
   * Queues a channel frame (`replyTo` 0) or the reply to client frame `replyTo`. A channel frame
   * past the replay buffer's bound is refused (false), unless the buffer is empty: one frame
   * larger than the bound would never fit otherwise (an ended session drops every frame, and
   * answers true: there is no policy left to apply). A reply always goes in (request traffic is
   * paced by Inbound instead), and acks the client's frames up to `replyTo` (the next attach's
   * WELCOME carries that ack should the reply be lost with the line).
   */
  #append(frame: string, replyTo: number, bytes?: number): boolean {
    const away = this.#move?.away
    if (away && replyTo > 0) {
      away(frame)
      return true
    }
    if (this.#ended) return true
    const out = this.#seq.out
    if (replyTo === 0 && !out.admits(frame.length)) return false
    this.#seq.append(frame, bytes)
    if (replyTo > 0) this.#seq.acked(replyTo)
    this.flushSoon()
    return true
  }

  /** Queues a flush at the end of the current callback, with every other session written to in it. */
  flushSoon(): void {
    if (this.#queued) return
    this.#queued = true
    queueFlush(this)
  }

  #log(kind: 'session' | 'transport', message: string, data?: unknown): void {
    const logger = this.#config.logger
    if (logger) logger({ kind, message, sessionId: this.id, data })
  }
}
