import type { ErrorCode, SwitchboardError, TransportName } from '@switchboard/protocol'
import type { StateChange } from './state.js'

/** The transport changed (`to` is null while there is none). */
export interface TransportChange {
  from: TransportName | null
  to: TransportName | null
  reason: string
}

/**
 * After a drop: `resumed: true` when the same session was reattached (nothing lost either way);
 * `resumed: false` with the reason when the server no longer had it and a new session began
 * (requests that never left moved to it, those that may have been processed were rejected with
 * SESSION_LOST; channels resubscribe with `since`).
 */
export interface SessionChange {
  sessionId: string
  resumed: boolean
  reason?: ErrorCode
}

export interface ConnectionEvents {
  state: StateChange
  transport: TransportChange
  session: SessionChange
  error: SwitchboardError
}

/**
 * What the `session` event says once a line is adopted: nothing on a first connect, `resumed:
 * true` after a drop, `resumed: false` with why when the server no longer held the session.
 */
export class SessionReport {
  #dropped = false
  #gone: ErrorCode | null = null

  /** The line dropped: the next line resumes the session, unless it turns out to be gone. */
  lineDropped(): void {
    this.#dropped = true
  }

  /** The server no longer holds the session (`code` says why): the next one is new. */
  sessionGone(code: ErrorCode): void {
    this.#gone = code
  }

  /** A line was adopted for `sessionId`: the change to report, if any, and forgets it. */
  adopted(sessionId: string): SessionChange | undefined {
    const gone = this.#gone
    const dropped = this.#dropped
    this.#gone = null
    this.#dropped = false
    if (gone) return { sessionId, resumed: false, reason: gone }
    return dropped ? { sessionId, resumed: true } : undefined
  }
}
