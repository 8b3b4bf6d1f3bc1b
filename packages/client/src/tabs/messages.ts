// What tabs say to each other. A member (every tab) asks on the group's `up` BroadcastChannel; the
// hub (in the tab holding the group's lock, and with it the one real connection) listens there,
// answers on `down` and tells every tab there what its connection does. Two channels, so no tab
// spends a structured clone on another tab's request. Each hub message names its hub: a member
// hears only its current leader.
import { isErrorCode, SwitchboardError, type ClientDataFrame, type ErrorCode, type RequestType, type TransportName } from '@switchboard/protocol'
import type { SessionChange, TransportChange } from '../events.js'
import { type ClientState, NEXT, type StateChange } from '../state.js'

/**
 * A request as it crosses to the hub: a SUBSCRIBE or UNSUBSCRIBE frame (the hub gives it its seq),
 * a PUBLISH or CALL encoded once, or a wait until the session's outbox has room (`drained()`).
 */
export type TabRequest =
  | { kind: 'frame'; frame: ClientDataFrame }
  | { kind: 'data'; type: RequestType; name: string; data: string }
  | { kind: 'drain' }

/** A SwitchboardError as it crosses between tabs (structured clone keeps no class). */
export interface TabError {
  code: ErrorCode
  message: string
  data?: unknown
  retryAfterMs?: number
}

/** Member -> hub. `from` is the member's id; a member's requests carry increasing ids. */
export type ToHub = { t: 'join'; from: string } | { t: 'req'; from: string; id: number; req: TabRequest; timeoutMs?: number }

/** What a member needs to know of the hub's connection at any time. */
export interface HubStatus {
  state: ClientState
  transport: TransportName | null
  sessionId: string | null
}

/** Hub -> members. */
export type FromHub =
  | ({ t: 'status'; hub: string } & HubStatus)
  | ({ t: 'state'; hub: string; change: StateChange } & HubStatus)
  | { t: 'transport'; hub: string; change: TransportChange }
  | { t: 'session'; hub: string; change: SessionChange }
  | { t: 'error'; hub: string; error: TabError }
  | { t: 'msg'; hub: string; channel: string; data: unknown; offset: number }
  /** `floor` answers a SUBSCRIBE: see SharedSubscribe. */
  | { t: 'reply'; hub: string; to: string; id: number; result?: unknown; error?: TabError; floor?: number }
  /** Every request up to `upTo[member]` may have left for the server: no longer safe to send again. */
  | { t: 'took'; hub: string; upTo: Record<string, number> }

export function toTabError(e: unknown): TabError {
  if (!(e instanceof SwitchboardError)) return { code: 'INTERNAL', message: String(e) }
  const error: TabError = { code: e.code, message: e.message }
  if (e.data !== undefined) error.data = e.data
  if (e.retryAfterMs !== undefined) error.retryAfterMs = e.retryAfterMs
  return error
}

export function fromTabError(e: TabError): SwitchboardError {
  return new SwitchboardError(isErrorCode(e.code) ? e.code : 'INTERNAL', String(e.message), { data: e.data, retryAfterMs: e.retryAfterMs })
}

/** True for a message that has the shape of a member's (anything else on the channel is ignored). */
export function isToHub(m: unknown): m is ToHub {
  const message = m as Partial<ToHub> | null
  return typeof message?.from === 'string' && (message.t === 'join' || message.t === 'req')
}

/**
 * True for a message from some hub (anything else on the channel is ignored). A status is checked
 * whole: it is what makes a member take a hub for its leader.
 */
export function isFromHub(m: unknown): m is FromHub {
  const message = m as Partial<FromHub & HubStatus> | null
  if (typeof message?.hub !== 'string' || typeof message.t !== 'string') return false
  if (message.t !== 'status' && message.t !== 'state') return true
  return Object.hasOwn(NEXT, String(message.state)) && (message.sessionId === null || typeof message.sessionId === 'string')
}
