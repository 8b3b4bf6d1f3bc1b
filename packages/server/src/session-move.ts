import { encodeFrame, type Sequencer } from '@switchboard/protocol'
import type { Inbound } from './inbound.js'
import type { SessionHandOff } from './session-config.js'

/** What a move needs of its session, which keeps these to itself otherwise. */
export interface MoveHost {
  readonly seq: Sequencer
  /** The session's client frames on their way to the app; `make`: made if it had none yet. */
  inbound(make: boolean): Inbound | null
  /** Closes the line: the client attaches on the other node. */
  closeLine(): void
  /** The session is over on this node, quietly: it lives on another now. */
  stop(): void
  /** Queues the reply to client frame `ref`. */
  appendReply(frame: string, ref: number): void
}

/**
 * A session's move to another node in the cluster, or its arrival from one. Made only for a
 * session that moves (most never do), so the others carry none of it.
 */
export class SessionMove {
  /** Moving to another node: no line attaches here. */
  moving = false
  /** It moved: replies that finish here go to the node that holds it now. */
  away: ((frame: string) => void) | null = null
  readonly #host: MoveHost

  constructor(host: MoveHost) {
    this.#host = host
  }

  /**
   * Starts a move to another node: the line closes (the client attaches there) and client frames
   * that arrive from now on are held. Resolves once no frame is being processed here.
   */
  pause(): Promise<void> {
    this.moving = true
    this.#host.closeLine()
    // Made now if the session had no data yet: frames that come during the move must be held too.
    return this.#host.inbound(true)!.pause()
  }

  /** The move did not happen: the session goes on here. */
  resume(): void {
    this.moving = false
    this.#host.inbound(false)?.unpause()
  }

  /** What the next node needs to go on: seqs, unacked frames, frames received and not processed. */
  handOff(): SessionHandOff {
    const held = this.#host.inbound(false)?.held()
    return { seq: this.#host.seq.state(), frames: held?.frames ?? [], sizes: held?.sizes ?? [] }
  }

  /** Goes on from another node's hand-off (before any line attaches). */
  takeOver(state: SessionHandOff): void {
    this.#host.seq.restore(state.seq)
    if (state.frames.length > 0) this.#host.inbound(true)!.adopt(state.frames, state.sizes)
  }

  /** The session now lives on another node: it is over here, and replies that finish here go to `away`. */
  moved(away: (frame: string) => void): void {
    this.away = away
    this.#host.stop()
  }

  /** A reply a call finished on the node this session left: it goes out with this node's next seq. */
  lateReply(frame: unknown[]): void {
    const ref = frame[2] as number
    frame[1] = this.#host.seq.nextSeq
    this.#host.appendReply(encodeFrame(frame as Parameters<typeof encodeFrame>[0]), ref)
  }
}
