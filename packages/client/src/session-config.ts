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

/**
 * A session's config from its connection's: the fields named, not the connection's config spread
 * (a spread copy took a hidden class of its own in every client once V8 had seen a few: 10,000
 * clients in a process had 10,000).
 */
export function sessionConfigOf(config: Omit<ClientSessionConfig, 'onGap'>, onGap: ClientSessionConfig['onGap']): ClientSessionConfig {
  return {
    maxOutboxFrames: config.maxOutboxFrames,
    maxOutboxBytes: config.maxOutboxBytes,
    maxQueuedRequests: config.maxQueuedRequests,
    maxQueuedBytes: config.maxQueuedBytes,
    onData: config.onData,
    onGap,
  }
}
