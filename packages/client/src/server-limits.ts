import type { TransportTraits } from './transports/transport.js'
import { type BatchLimits, MAX_BATCH_BYTES, MAX_BATCH_FRAMES, MAX_MESSAGE_BYTES, type NegotiateResponse } from '@switchboard/protocol'

/** What a frame's share of its batch may add to its own UTF-8 bytes on the server (see ServerLimits.outbox). */
const PENDING_MARGIN_BYTES = 64

/** The last few limits made: the sessions of one server all have the same three (see ServerLimits), and share them. */
let lastMade: BatchLimits[] = []

function batchLimits(maxFrames: number, maxBytes: number): BatchLimits {
  for (const made of lastMade) if (made.maxFrames === maxFrames && made.maxBytes === maxBytes) return made
  const limits = Object.freeze({ maxFrames, maxBytes })
  lastMade = [limits, ...lastMade.slice(0, 3)]
  return limits
}

/** The server's limits from its negotiate answer, as this client keeps to them in what it sends. */
export class ServerLimits {
  maxMessageBytes = MAX_MESSAGE_BYTES
  /** Every batch: one HTTP body. */
  batch: BatchLimits = batchLimits(MAX_BATCH_FRAMES, MAX_BATCH_BYTES)
  /** A socket message (WebSocket) stays within maxMessageBytes too: the server never has to measure its frames one by one. */
  messageBatch: BatchLimits = batchLimits(MAX_BATCH_FRAMES, Math.min(MAX_BATCH_BYTES, MAX_MESSAGE_BYTES))
  /**
   * A POST of a polled line: a frame short of the bound, since the POST's answer carries its ack
   * before the replies to the batch's requests, and a reply that did not fit would wake the poll
   * (one more poll for every POST of a burst).
   */
  polledBatch: BatchLimits = batchLimits(MAX_BATCH_FRAMES - 1, MAX_BATCH_BYTES)

  /** Requests the server holds unprocessed for a session, and their UTF-8 bytes (Infinity: it did not say). */
  pendingRequests = Number.POSITIVE_INFINITY
  pendingBytes = Number.POSITIVE_INFINITY

  /**
   * Takes what the server said; the rest stays as it was, except the pending bounds, which belong
   * to each answer (an older server gives none).
   */
  set(
    limits: Partial<Pick<NegotiateResponse, 'maxBatchFrames' | 'maxBatchBytes' | 'maxMessageBytes' | 'maxPendingRequests' | 'maxPendingBytes'>>,
  ): this {
    const maxFrames = limits.maxBatchFrames ?? this.batch.maxFrames
    const maxBytes = limits.maxBatchBytes ?? this.batch.maxBytes
    this.maxMessageBytes = limits.maxMessageBytes ?? this.maxMessageBytes
    this.batch = batchLimits(maxFrames, maxBytes)
    this.messageBatch = batchLimits(maxFrames, Math.min(maxBytes, this.maxMessageBytes))
    this.polledBatch = batchLimits(Math.max(1, maxFrames - 1), maxBytes)
    this.pendingRequests = limits.maxPendingRequests ?? Number.POSITIVE_INFINITY
    this.pendingBytes = limits.maxPendingBytes ?? Number.POSITIVE_INFINITY
    return this
  }

  /** The bounds of a batch sent on a line with these traits. */
  batchFor(traits: Pick<TransportTraits, 'messageSized' | 'polled'>): BatchLimits {
    return traits.messageSized ? this.messageBatch : traits.polled ? this.polledBatch : this.batch
  }

  /**
   * Outbox bounds (frames, and characters as the outbox counts them: string length) within what the
   * server holds unprocessed: every frame in the outbox may be held there at once (sent, not
   * acked), and one more than it holds ends the session. The server counts UTF-8 bytes, each
   * frame with its share of its batch: at most 3 per character, plus PENDING_MARGIN_BYTES a frame
   * for commas, brackets and the control frames beside it.
   */
  outbox(frames: number, chars: number): [frames: number, chars: number] {
    const n = Math.min(frames, this.pendingRequests)
    return [n, Math.min(chars, Math.max(0, Math.floor((this.pendingBytes - PENDING_MARGIN_BYTES * n) / 3)))]
  }
}
