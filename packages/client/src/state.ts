import type { ErrorCode } from '@switchboard/protocol'

/** Where the client stands. Every change emits one `state` event. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'upgrading' | 'backoff' | 'closed'

/** The only legal transitions; anything else is a bug and throws. */
export const NEXT = {
  idle: ['connecting', 'closed'],
  connecting: ['open', 'backoff', 'closed'],
  open: ['upgrading', 'backoff', 'closed'],
  upgrading: ['open', 'backoff', 'closed'],
  backoff: ['connecting', 'closed'],
  closed: [],
} as const satisfies Record<ClientState, readonly ClientState[]>

export interface StateChange {
  from: ClientState
  to: ClientState
  reason: string
  code?: ErrorCode
}

export function assertTransition(from: ClientState, to: ClientState): void {
  if (!(NEXT[from] as readonly ClientState[]).includes(to)) throw new Error(`Illegal client state transition ${from} -> ${to}`)
}
