import { encodeAck, encodeBatch, encodeFrame, FrameType, type CloseFrame, type Sequencer } from '@switchboard/protocol'
import type { ServerTransport } from './transports/transport.js'

/** Data kept for a client after its session ended, at most this many bytes (more is left to channel recovery). */
const MAX_FINAL_BYTES = 1024 * 1024

/**
 * What an ended session still owes its client: the frames the client had not acked, the last
 * ack of the client's frames, and why it ended. Kept for recoveryMs, so a client whose line was
 * down when the session ended (a long poll between requests, a cut socket) still receives every
 * frame, learns exactly which of its own frames were processed (the rest can go to a new
 * session), and when to come back.
 */
export class EndedSession {
  readonly token: string
  readonly until: number
  /** Highest client seq the session processed. */
  readonly received: number
  readonly closeFrame: string
  #frames: string[]
  #firstSeq: number

  /**
   * Tells `line` (when it can take it) the session's last batch, ending in `close`, and answers
   * what the session still owes its client after that: its frames the client has not acked, and
   * its exact ack.
   */
  static told(line: ServerTransport | null, token: string, seq: Sequencer, close: CloseFrame, until: number): EndedSession {
    const closeFrame = encodeFrame(close)
    try {
      if (line?.writable) line.send(seq.closingBatch(closeFrame))
    } catch {
      // A line that broke while writing: the client hears the end from its final words.
    }
    return new EndedSession(token, seq.processedSeq, seq.unackedFrames(), seq.out.ackedSeq + 1, closeFrame, until)
  }

  constructor(token: string, received: number, frames: string[], firstSeq: number, closeFrame: string, until: number) {
    this.token = token
    this.received = received
    this.closeFrame = closeFrame
    this.until = until
    let bytes = 0
    for (const f of frames) bytes += f.length
    this.#frames = bytes <= MAX_FINAL_BYTES ? frames : []
    this.#firstSeq = bytes <= MAX_FINAL_BYTES ? firstSeq : firstSeq + frames.length
  }

  /** The answer to a reattach: WELCOME, the data after `clientAck`, the final ACK, CLOSE. */
  batchFor(clientAck: number): string {
    const from = Math.max(0, clientAck + 1 - this.#firstSeq)
    return encodeBatch([encodeFrame([FrameType.WELCOME, this.received]), ...this.#frames.slice(from), encodeAck(this.received), this.closeFrame])
  }

  /**
   * True when `batch` tells the client of the end: CLOSE is the last frame of every batch that
   * carries it (the session's last batch on its line, and batchFor()).
   */
  carriedBy(batch: string): boolean {
    return batch.endsWith(`${this.closeFrame}]`)
  }

  /** The answer to an upstream POST that arrived after the end: which frames were processed. */
  ackBatch(): string {
    return encodeBatch([encodeAck(this.received)])
  }
}
