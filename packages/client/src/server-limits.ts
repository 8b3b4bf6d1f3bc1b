import { type BatchLimits, MAX_BATCH_BYTES, MAX_BATCH_FRAMES, MAX_MESSAGE_BYTES, type NegotiateResponse } from '@switchboard/protocol'

/** The server's limits from its negotiate answer, as this client keeps to them in what it sends. */
export class ServerLimits {
  maxMessageBytes = MAX_MESSAGE_BYTES
  /** Every batch: one HTTP body. */
  batch: BatchLimits = { maxFrames: MAX_BATCH_FRAMES, maxBytes: MAX_BATCH_BYTES }
  /** A socket message (WebSocket) stays within maxMessageBytes too: the server never has to measure its frames one by one. */
  messageBatch: BatchLimits = { maxFrames: MAX_BATCH_FRAMES, maxBytes: Math.min(MAX_BATCH_BYTES, MAX_MESSAGE_BYTES) }

  /** Takes what the server said; the rest stays as it was. One object per setting, not per batch. */
  set(limits: Partial<Pick<NegotiateResponse, 'maxBatchFrames' | 'maxBatchBytes' | 'maxMessageBytes'>>): void {
    const maxFrames = limits.maxBatchFrames ?? this.batch.maxFrames
    const maxBytes = limits.maxBatchBytes ?? this.batch.maxBytes
    this.maxMessageBytes = limits.maxMessageBytes ?? this.maxMessageBytes
    this.batch = { maxFrames, maxBytes }
    this.messageBatch = { maxFrames, maxBytes: Math.min(maxBytes, this.maxMessageBytes) }
  }
}
