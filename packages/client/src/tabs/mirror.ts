import type { ErrorCode, TransportName } from '@switchboard/protocol'
import type { ConnectionEvents } from '../events.js'
import { assertTransition, type ClientState, type StateChange } from '../state.js'
import type { HubStatus } from './messages.js'
import { pathTo } from './state-path.js'

type Emit = <K extends keyof ConnectionEvents>(event: K, payload: ConnectionEvents[K]) => void

/**
 * A follower's own `state`, `transport` and `session`, following its hub's: through the same
 * transition table as a Connection (steps it missed are walked, see pathTo), and with a change of
 * leader reported as what it is for this tab, a session lost and a new one begun.
 */
export class Mirror {
  state: ClientState = 'idle'
  transport: TransportName | null = null
  sessionId: string | null = null
  /** The session this tab was last open on. */
  #openOn: string | null = null
  #leaderChanged = false
  #emit: Emit
  #log: (message: string) => void

  constructor(emit: Emit, log: (message: string) => void) {
    this.#emit = emit
    this.#log = log
  }

  /** Walks to `target`; the last step carries `code`. */
  moveTo(target: ClientState, reason: string, code?: ErrorCode): void {
    for (const to of pathTo(this.state, target)) {
      const change: StateChange = { from: this.state, to, reason }
      if (code && to === target) change.code = code
      assertTransition(change.from, to)
      this.state = to
      this.#log(`${change.from} -> ${to}: ${reason}`)
      this.#emit('state', change)
    }
  }

  setTransport(to: TransportName | null, reason: string): void {
    if (to === this.transport) return
    const change = { from: this.transport, to, reason }
    this.transport = to
    this.#emit('transport', change)
  }

  /** The hub's status, as this tab's own. */
  follow(status: HubStatus, reason: string, code?: ErrorCode): void {
    this.sessionId = status.sessionId
    this.setTransport(status.transport, reason)
    this.moveTo(status.state, reason, code)
    if (status.state !== 'open' || status.sessionId === null) return
    const before = this.#openOn
    this.#openOn = status.sessionId
    // The new leader's first session is new to this tab: its channels resubscribe with `since`.
    if (this.#leaderChanged && before !== null && before !== status.sessionId)
      this.#emit('session', { sessionId: status.sessionId, resumed: false, reason: 'SESSION_LOST' })
    this.#leaderChanged = false
  }

  /** The hub reported a session event of its own. */
  session(change: ConnectionEvents['session']): void {
    this.#openOn = change.sessionId
    this.#emit('session', change)
  }

  /** The leader's tab closed: no line, no session, until the next leader's connection opens. */
  leaderClosed(reason: string): void {
    this.#leaderChanged = true
    this.sessionId = null
    this.setTransport(null, reason)
    if (this.state === 'open' || this.state === 'upgrading' || this.state === 'connecting') this.moveTo('backoff', reason)
  }
}
