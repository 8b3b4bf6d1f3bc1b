import { batchRoom, encodeAck, encodeBatch, joinControl, utf8Length } from './codec.js'
import { classifySeq, ReplayBuffer, type SeqVerdict } from './seq.js'

/** How big one batch may be: frames, and UTF-8 bytes with brackets and commas. */
export interface BatchLimits {
  readonly maxFrames: number
  readonly maxBytes: number
}

/**
 * Where one side's sequencing stands, to go on elsewhere: a session that moves to another node
 * carries its unacked frames (with their seqs) and what it received and processed of its peer's.
 */
export interface SequencerState {
  /** Highest own seq the peer acked; `frames` are the ones after it, in order. */
  acked: number
  frames: string[]
  /** Highest peer seq accepted in order, and the highest processed (at most `received`). */
  received: number
  processed: number
}

/** Bounds of what a Sequencer holds: its own unacked frames, and peer frames ahead of a gap. */
export interface SequencerLimits {
  /** Own frames sent or queued and not yet acked by the peer. */
  maxUnackedFrames: number
  maxUnackedBytes: number
  /** Peer frames held ahead of a gap, by count and by size (string length); 0 drops them. */
  maxEarlyFrames?: number
  maxEarlyChars?: number
  /** UTF-8 size of a frame, to cut batches by bytes; the default counts in JS, a Node owner passes Buffer.byteLength. */
  byteLength?: (s: string) => number
  /**
   * Acks say what the owner processed (`processed(seq)`), not what arrived: a receiver that may
   * hold accepted frames before acting on them (the server, under backpressure) acks only those
   * it acted on, so a session that ends tells its peer exactly which frames to carry over.
   */
  ackProcessed?: boolean
}

/** What holds no control frames instead of an array of its own (idle memory counts). Never written. */
const NO_CONTROL: string[] = []

/**
 * One side of a session's sequencing, the same engine on the server and the client: pure, no
 * timers and no I/O (its owner schedules flushes and ack delays, and writes to its line).
 *
 * Outbound: own data frames get seqs 1, 2, 3... and stay in a bounded ReplayBuffer until the peer
 * acks them; a line takes them in batches within its limits, and a new line resends from the
 * peer's ack (`rewind`). Inbound: peer data frames are classified against the last one delivered
 * (deliver, duplicate, gap); frames ahead of a gap may be held until it fills; what was delivered
 * but not yet acked to the peer says when an ack is due. Control frames (WELCOME, PING, PONG)
 * wait, unsequenced, for the next batch.
 */
export class Sequencer<Early = unknown> {
  readonly out: ReplayBuffer
  /** Highest peer seq accepted in order. */
  received = 0
  /** Highest peer seq processed: what acks carry (the same as `received` unless ackProcessed). */
  processedSeq = 0
  #ackProcessed: boolean
  /** Highest peer seq the peer has been told we hold. */
  #ackedIn = 0
  /** Highest own seq written to the current line. */
  #sent = 0
  /** Highest own seq written to any line: frames above it never left, so the peer never processed them. */
  #everSent = 0
  #control: string[] = NO_CONTROL
  /** Made on the first hold: most sessions never see a frame ahead of a gap (idle memory counts). */
  #early: Map<number, { frame: Early; chars: number }> | undefined
  #earlyChars = 0
  #maxEarlyFrames: number
  #maxEarlyChars: number

  constructor(limits: SequencerLimits) {
    this.out = new ReplayBuffer(limits.maxUnackedFrames, limits.maxUnackedBytes, limits.byteLength ?? utf8Length)
    this.#maxEarlyFrames = limits.maxEarlyFrames ?? 0
    this.#maxEarlyChars = limits.maxEarlyChars ?? 0
    this.#ackProcessed = limits.ackProcessed ?? false
  }

  // ---- outbound ----------------------------------------------------------------------------

  /** Seq the next own frame gets. */
  get nextSeq(): number {
    return this.out.nextSeq
  }

  /** Highest own seq written to any line. */
  get everSent(): number {
    return this.#everSent
  }

  /** True while frames are held that the current line has not been given yet. */
  get unsent(): boolean {
    return this.#sent < this.out.lastSeq
  }

  /**
   * Queues an own data frame already encoded with `nextSeq`; the owner checks `out.hasRoom` first.
   * `bytes`: its UTF-8 size, when the owner knows it from the frame's parts (see ReplayBuffer.append).
   */
  append(frame: string, bytes?: number): number {
    return this.out.append(frame, bytes)
  }

  /** The peer holds every own frame up to `ack`; false (nothing changes) for a seq never sent. */
  ack(ack: number): boolean {
    return this.out.ack(ack)
  }

  /**
   * A new line attached and the peer holds our frames up to `peerAck`: drop those, and resend the
   * rest on this line. An ack older than one already received (a poll that left before an ACK
   * frame) never resends twice. False, changing nothing, for an ack beyond the last seq sent.
   */
  rewind(peerAck: number): boolean {
    if (!this.out.ack(peerAck)) return false
    this.#sent = Math.max(peerAck, this.out.ackedSeq)
    return true
  }

  /** Own frames the peer has not acked, oldest first (what a session owes its peer at its end). */
  unackedFrames(): string[] {
    return this.out.framesAfter(this.out.ackedSeq)
  }

  /** Own frames the current line has not been given, oldest first. */
  unsentFrames(): string[] {
    return this.out.framesAfter(Math.max(this.#sent, this.out.ackedSeq))
  }

  // ---- inbound -----------------------------------------------------------------------------

  /** Classifies a peer data frame's seq; on 'deliver' it becomes the last one delivered. */
  accept(seq: number): SeqVerdict {
    const verdict = classifySeq(this.received, seq)
    if (verdict === 'deliver') {
      this.received = seq
      if (!this.#ackProcessed) this.processedSeq = seq
    }
    return verdict
  }

  /** With ackProcessed: the owner acted on the peer's frames up to `seq`, and acks may say so. */
  processed(seq: number): void {
    if (seq > this.processedSeq) this.processedSeq = seq
  }

  /** Peer frames processed and not yet acked to the peer. */
  get ackOwed(): number {
    return this.processedSeq - this.#ackedIn
  }

  /** The peer now knows we hold its frames up to `seq` (a reply to it, or an ack that left). */
  acked(seq = this.processedSeq): void {
    if (seq > this.#ackedIn) this.#ackedIn = seq
  }

  /** On a new line, the peer learns our ack again (it may have missed the last one). */
  forgetAcked(): void {
    this.#ackedIn = 0
  }

  /**
   * Holds a peer frame that came ahead of a gap (over another HTTP response, say) until the gap
   * fills. False when the hold is full: the owner must have the peer resend from its ack.
   */
  hold(seq: number, frame: Early, chars: number): boolean {
    if (this.#early?.has(seq)) return true
    if ((this.#early?.size ?? 0) >= this.#maxEarlyFrames || this.#earlyChars + chars > this.#maxEarlyChars) return false
    ;(this.#early ??= new Map()).set(seq, { frame, chars })
    this.#earlyChars += chars
    return true
  }

  /** Some peer frame waits ahead of a gap. */
  get holding(): boolean {
    return (this.#early?.size ?? 0) > 0
  }

  /** The held frame that is next in line, now delivered; undefined when there is none. */
  takeHeld(): Early | undefined {
    const next = this.#early?.get(this.received + 1)
    if (next === undefined) return undefined
    this.#early!.delete(this.received + 1)
    this.#earlyChars -= next.chars
    this.received++
    if (!this.#ackProcessed) this.processedSeq = this.received
    return next.frame
  }

  // ---- control and batches -----------------------------------------------------------------

  /** Queues an unsequenced control frame for the next batch; `first` puts it ahead of the others. */
  control(frame: string, first = false): void {
    if (this.#control === NO_CONTROL) this.#control = [frame]
    else if (first) this.#control.unshift(frame)
    else this.#control.push(frame)
  }

  /** Drops queued control frames that `keep` refuses (stale heartbeats after a reattach, say). */
  filterControl(keep: (frame: string) => boolean): void {
    if (this.#control.length > 0) this.#control = this.#control.filter(keep)
  }

  /**
   * The next batch for the line, or '' when there is nothing to send: queued control frames, the
   * ack when `withAck` and one is owed, then as many unsent data frames as fit in `limits`. What
   * it returns counts as written (the owner writes it or the line is gone: a reattach resends).
   */
  nextBatch(limits: BatchLimits, withAck: boolean): string {
    const due = withAck && this.#ackedIn < this.processedSeq
    const ack = due ? encodeAck(this.processedSeq) : ''
    if (due) this.#ackedIn = this.processedSeq
    const queued = this.#control
    const control = joinControl(queued, ack)
    // An ack (or a reply) can pass what this line was sent, after a switch: never resend below it.
    const out = this.out
    if (this.#sent < out.ackedSeq) this.#sent = out.ackedSeq
    const room = Math.max(1, limits.maxFrames - queued.length - (due ? 1 : 0))
    const count = out.countAfter(this.#sent, room, batchRoom(limits.maxBytes, control))
    if (count === 0 && control === '') return ''
    if (queued.length > 0) this.#control = NO_CONTROL
    const batch = out.batchAfter(this.#sent, count, control)
    this.#sent += count
    if (this.#sent > this.#everSent) this.#everSent = this.#sent
    return batch
  }

  /**
   * The answer to a batch of the peer's that came with room for one back (a POST): the ack of
   * everything delivered, then unsent data frames within `limits`. Never empty.
   */
  answerBatch(limits: BatchLimits, withData: boolean): string {
    const ack = encodeAck(this.processedSeq)
    this.#ackedIn = this.processedSeq
    if (!withData) return `[${ack}]`
    const out = this.out
    if (this.#sent < out.ackedSeq) this.#sent = out.ackedSeq
    const count = out.countAfter(this.#sent, limits.maxFrames - 1, limits.maxBytes - ack.length - 1)
    if (count === 0) return `[${ack}]`
    const batch = out.batchAfter(this.#sent, count, ack)
    this.#sent += count
    if (this.#sent > this.#everSent) this.#everSent = this.#sent
    return batch
  }

  /**
   * The last batch of a session that ends: the frames this line has not had, the exact ack of
   * the peer's frames (all up to it were processed, none after it will be), then `close`.
   */
  closingBatch(close: string): string {
    return encodeBatch([encodeAck(this.processedSeq), ...this.unsentFrames(), close])
  }

  /** Where this side stands (see SequencerState); control frames and held early frames are not part of it. */
  state(): SequencerState {
    return { acked: this.out.ackedSeq, frames: this.unackedFrames(), received: this.received, processed: this.processedSeq }
  }

  /**
   * Goes on from `state`, taken by another Sequencer: the next line resends from the peer's ack
   * (`rewind`), and the peer learns our ack again.
   */
  restore(state: SequencerState): void {
    this.out.restore(state.acked, state.frames)
    this.received = state.received
    this.processedSeq = state.processed
    this.#ackedIn = 0
    this.#sent = state.acked
    // Any of the frames may have left on the other node's line.
    this.#everSent = this.out.lastSeq
  }

  /** Forgets every frame and every count; own seqs go on from where they were. */
  clear(): void {
    this.out.clear()
    this.#control = NO_CONTROL
    this.#early = undefined
    this.#earlyChars = 0
  }
}
