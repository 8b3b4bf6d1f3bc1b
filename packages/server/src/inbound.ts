import {
  ACK_DELAY_MS,
  ACK_EVERY_FRAMES,
  FrameType,
  PING_FRAME,
  PONG_FRAME,
  type ClientDataFrame,
  type ClientFrame,
  type Sequencer,
} from '@switchboard/protocol'
import { MAX_OVERLAPPING, Overlapping, Overlaps } from './overlaps.js'
import type { Logger } from './log.js'
import type { Session } from './session.js'
import type { SessionConfig } from './session-config.js'

/** A client data frame that came ahead of a gap, and its share of its batch's bytes. */
export interface EarlyFrame {
  frame: ClientDataFrame
  bytes: number
}

/**
 * Takes a batch of client frames for `session` (whose seqs are `seq`): acks and pings at once,
 * data frames in seq order to its Inbound, made on the first one (an idle session has none).
 * Data frames ahead of a gap (a POST that overtook the one before it) wait in `seq` until the gap
 * fills, within one batch's worth; past that they are dropped and the client sends them again
 * on its next line. `inlineAck`: the caller answers with the ack itself (a POST). Returns, when
 * this batch's frames wait for a gap, a promise of its filling: the POST is answered then, so its
 * client, which has two POSTs in flight at most, sends no more until the one before arrives (or
 * times out and attaches again), and never runs past what the server holds.
 */
export function receiveFrames(
  session: Session,
  seq: Sequencer<EarlyFrame>,
  logger: Logger | undefined,
  frames: readonly ClientFrame[],
  inlineAck: boolean,
  bytes: number,
): Promise<void> | undefined {
  let due = false
  let held = false
  const share = bytes / frames.length
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!
    switch (f[0]) {
      case FrameType.ACK:
        session.acked(f[1])
        break
      case FrameType.PING:
        seq.control(PONG_FRAME)
        session.flushSoon()
        break
      case FrameType.PONG:
      case FrameType.HELLO:
        break
      default: {
        const verdict = seq.accept(f[1])
        due = true
        if (verdict === 'deliver') {
          const inbound = session.inbound(true)!
          inbound.deliver(f, share)
          for (let next = seq.takeHeld(); next; next = seq.takeHeld()) inbound.deliver(next.frame, next.bytes)
          if (!seq.holding) inbound.gapFilled()
        } else if (verdict === 'gap') {
          if (seq.hold(f[1], { frame: f, bytes: share }, share)) held = true
          else logger?.({ kind: 'session', message: `dropped frame ${f[1]} after a gap (expected ${seq.received + 1})`, sessionId: session.id })
        }
      }
    }
  }
  if (inlineAck) seq.acked()
  else if (due) session.inbound(false)?.scheduleAck()
  return held && seq.holding ? session.inbound(true)!.untilGapFills() : undefined
}

/**
 * A session's client frames on their way to the app: in seq order, one dispatch at a time when a
 * dispatch is async, and paced: while the client owes acks for half the replay buffer, new
 * requests are held, unprocessed and unacked (the client's outbox fills and it waits; acks and
 * pings are still read), so a session that ends tells its client exactly which to carry over.
 * Also when the session's ack of them is due. Made on a session's first data frame: an idle
 * session has none.
 */
export class Inbound {
  #session: Session
  #seq: Sequencer
  #config: SessionConfig
  #frames: ClientDataFrame[] = []
  /** The bytes each held frame came with (its share of its batch), and their sum. */
  #sizes: number[] = []
  #bytes = 0
  #busy = false
  /** A PING went out to ask for the client's ack since the session fell behind. */
  #askedAck = false
  #ackTimer: ReturnType<typeof setTimeout> | undefined
  /** The session is moving to another node: every frame is held for it, none processed here. */
  #paused: (() => void) | null = null
  /** Publishes in flight that later frames did not wait for (made on the first). */
  #overlaps: Overlaps | null = null
  /** Answers the POST whose frames wait ahead of a gap (see receiveFrames). */
  #gapWaiter: (() => void) | undefined

  constructor(session: Session, seq: Sequencer, config: SessionConfig) {
    this.#session = session
    this.#seq = seq
    this.#config = config
  }

  /** Processes a client frame in seq order, or holds it (behind an async dispatch, or paced). */
  deliver(frame: ClientDataFrame, bytes: number): void {
    if (this.#busy || this.#frames.length > 0 || this.#paused !== null || this.#behind()) {
      const config = this.#config
      const held = this.#frames.length
      // Only a client that ignores its acks (or the bounds its negotiate answer gave) sends this far
      // ahead; one frame larger than the bytes bound is held alone, as a client's empty outbox takes it.
      if (held >= config.maxPendingRequests || (held > 0 && this.#bytes + bytes > config.maxPendingBytes)) {
        const why = `More than ${config.maxPendingRequests} requests or ${config.maxPendingBytes} bytes wait to be processed`
        return this.#session.end('BACKLOG_FULL', null, why)
      }
      this.#frames.push(frame)
      this.#sizes.push(bytes)
      this.#bytes += bytes
      if (!this.#busy) this.#askForAck()
      return
    }
    this.#dispatch(frame)
  }

  /**
   * Holds every frame from now on (the session is moving to another node). Resolves once no
   * frame is being processed; `held` then says what the next node must process.
   */
  pause(): Promise<void> {
    return new Promise((resolve) => {
      this.#paused = resolve
      if (!this.#busy && !this.#overlaps?.size) resolve()
    })
  }

  /** The move did not happen: process what was held meanwhile. */
  unpause(): void {
    this.#paused = null
    this.acked()
  }

  /** Frames received and not processed, in seq order, and the bytes each came with. */
  held(): { frames: ClientDataFrame[]; sizes: number[] } {
    return { frames: this.#frames, sizes: this.#sizes }
  }

  /** Frames a session received on another node and did not process there: processed here, in order. */
  adopt(frames: ClientDataFrame[], sizes: number[]): void {
    this.#frames = frames
    this.#sizes = sizes
    this.#bytes = sizes.reduce((a, b) => a + b, 0)
  }

  /** An ack came: take the requests held back once it made room, or ask for the next one. */
  acked(): void {
    this.#askedAck = false
    if (this.#frames.length === 0 || this.#busy || this.#paused !== null || this.#session.ended) return
    if (this.#caughtUp()) this.#resume()
    else this.#askForAck()
  }

  /** Data frames arrived: ack them once ACK_EVERY_FRAMES are owed, or after ACK_DELAY_MS. */
  scheduleAck(): void {
    const owed = this.#seq.ackOwed
    if (owed <= 0) return // replies acked it all
    if (owed >= ACK_EVERY_FRAMES) this.#session.flushSoon()
    else this.#ackTimer ??= setTimeout(Inbound.#ackNow, ACK_DELAY_MS, this)
  }

  /**
   * Resolves once the frames held ahead of a gap are taken, or the session ends here. Undefined
   * when a POST already waits: only a client that ignores POSTS_IN_FLIGHT has two, and its
   * second is answered at once.
   */
  untilGapFills(): Promise<void> | undefined {
    if (this.#gapWaiter) return undefined
    return new Promise((resolve) => {
      this.#gapWaiter = resolve
    })
  }

  gapFilled(): void {
    const answer = this.#gapWaiter
    this.#gapWaiter = undefined
    answer?.()
  }

  /** The session ended: held frames are dropped (its final ack excludes them), the timer stops. */
  end(): void {
    this.gapFilled()
    clearTimeout(this.#ackTimer)
    this.#frames = []
    this.#sizes = []
    this.#bytes = 0
  }

  /** Shared by every session (the inbound comes as the timer's argument): no closure per session. */
  static #ackNow(inbound: Inbound): void {
    inbound.#ackTimer = undefined
    if (inbound.#seq.ackOwed > 0) inbound.#session.flushSoon()
  }

  /**
   * A frame counts as processed when its dispatch starts, but a publish that waits for a broker
   * once the broker answered: its ack then says the broker has it, so a client whose session is
   * lost before that sends it again (keyed, see publishKey). A subscribe is not carried over: the
   * client sends a new one, with `since` from what it received meanwhile.
   */
  #dispatch(frame: ClientDataFrame): void {
    const seq = frame[1]
    const publish = frame[0] === FrameType.PUBLISH
    if (!publish) this.#processed(seq)
    const pending = this.#config.dispatch(this.#session, frame)
    if (pending instanceof Overlapping) this.#overlap(pending.settled, seq)
    else if (pending) this.#wait(pending, seq)
    else if (publish) this.#processed(seq)
  }

  /** Frame `seq` is processed: acks may say so once every older one is too. */
  #processed(seq: number): void {
    const upTo = this.#overlaps === null ? seq : this.#overlaps.done(seq)
    if (upTo > 0) this.#seq.processed(upTo)
  }

  /**
   * A publish runs and later frames go on without waiting for it (the broker keeps their order),
   * up to MAX_OVERLAPPING at once: the next frame then waits for the oldest.
   */
  #overlap(settled: Promise<void>, seq: number): void {
    const overlaps = (this.#overlaps ??= new Overlaps())
    overlaps.add(seq, settled)
    const finish = () => {
      const upTo = overlaps.finish(seq)
      if (upTo > 0) this.#seq.processed(upTo)
      if (overlaps.size === 0 && !this.#busy) this.#paused?.()
    }
    settled.then(finish, finish)
    if (overlaps.size >= MAX_OVERLAPPING) this.#wait(overlaps.oldest!, 0)
  }

  /**
   * Asks for the client's ack now, once per ack: a PING is answered on every line with a batch or
   * request that carries the ack, where a client with nothing to send (or a long poll holding no
   * data) would otherwise ack only after its ack delay, or at the poll timeout.
   */
  #askForAck(): void {
    if (this.#askedAck) return
    this.#askedAck = true
    this.#seq.control(PING_FRAME)
    this.#session.flushSoon()
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
  #wait(pending: Promise<void>, seq: number): void {
    this.#busy = true
    const resume = () => {
      if (seq > 0) this.#processed(seq)
      this.#resume()
    }
    pending.then(resume, resume)
  }

  #resume(): void {
    this.#busy = false
    if (this.#paused !== null) {
      if (!this.#overlaps?.size) this.#paused()
      return
    }
    let dispatched = false
    while (!this.#busy && this.#frames.length > 0 && !this.#session.ended && !this.#behind()) {
      this.#bytes -= this.#sizes.shift()!
      this.#dispatch(this.#frames.shift()!)
      dispatched = true
    }
    if (dispatched) this.scheduleAck()
  }
}
