import type { BatchLimits, ClientDataFrame, ErrorCode, SequencerState } from '@switchboard/protocol'
import type { EndedSession } from './ended-session.js'
import type { Logger } from './log.js'
import type { Overlapping } from './overlaps.js'
import type { Session } from './session.js'

/** What a session is given by the registry that makes it: its bounds and the app layer's hooks. */
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
  /**
   * Data frames, in client seq order, exactly once. May return a promise (later frames wait for
   * it), or an Overlapping (later frames go on; only the ack of this one waits).
   */
  dispatch(session: Session, frame: ClientDataFrame): void | Promise<void> | Overlapping
  /** The session is over: forget it, keeping `final` for a client that comes back to hear it. */
  onEnd(session: Session, code: ErrorCode, final: EndedSession): void
  logger: Logger | undefined
  /** UTF-8 size of a frame, to cut batches by bytes: Node's Buffer.byteLength; the protocol's utf8Length when absent. */
  byteLength?: (s: string) => number
}

/** What a session that moves to another node takes with it, besides its channels. */
export interface SessionHandOff {
  seq: SequencerState
  /** Client frames received and not yet processed, in seq order, and the bytes each came with. */
  frames: ClientDataFrame[]
  sizes: number[]
}
