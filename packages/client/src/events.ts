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
