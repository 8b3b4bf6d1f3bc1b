import type { ServerDataFrame } from '@switchboard/protocol'

/** What a client session is given by its connection: outbox bounds and where its frames go. */
export interface ClientSessionConfig {
  /** Requests sent or queued and not yet acked by the server. */
  maxOutboxFrames: number
  maxOutboxBytes: number
  /** Requests waiting for room in the outbox, at most (characters for bytes); past it OUTBOX_FULL. */
  maxQueuedRequests?: number
  maxQueuedBytes?: number
  /** Data frames from the server, in seq order, exactly once. */
  onData(frame: ServerDataFrame): void
  /**
   * A frame after a gap was dropped (the frames held ahead of the gap reached MAX_EARLY_FRAMES or
   * MAX_EARLY_CHARS): the owner must have the server resend from our ack (a reattach does).
   */
  onGap?(seq: number, expected: number): void
}
