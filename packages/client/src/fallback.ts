import type { ErrorCode, TransportName } from '@switchboard/protocol'
import type { Attempt } from './attempt.js'
import type { ConnectionConfig } from './connection-config.js'
import { FATAL_CODES } from './negotiate.js'
import { TRANSPORT_MODULES } from './transports/index.js'

/** Codes that mean the server no longer holds the session. */
export const SESSION_GONE = new Set<ErrorCode>(['UNKNOWN_SESSION', 'INVALID_TOKEN', 'SESSION_LOST', 'SLOW_CONSUMER', 'SERVER_SHUTDOWN'])

/**
 * The preferred transports the server offers, starting with the one that worked last; `failed`
 * (one that just failed to negotiate) is tried last.
 */
export function fallbackOrder(
  preferred: readonly TransportName[],
  offered: readonly TransportName[],
  lastWorked: TransportName | null,
  failed: TransportName | null = null,
): TransportName[] {
  const list = preferred.filter((t) => offered.includes(t))
  const i = lastWorked ? list.indexOf(lastWorked) : -1
  const order = i <= 0 ? list : [...list.slice(i), ...list.slice(0, i)]
  return failed === null ? order : [...order.filter((t) => t !== failed), ...order.filter((t) => t === failed)]
}

/**
 * A new session is negotiated in the WebSocket upgrade when the client sends no headers and
 * would try WebSocket first anyway; the HTTP transports always negotiate with a request.
 */
export function negotiatesInUpgrade(c: ConnectionConfig, lastWorked: TransportName | null): boolean {
  return c.negotiateInUpgrade && c.WebSocket !== undefined && fallbackOrder(c.transports, c.transports, lastWorked)[0] === 'websocket'
}

/**
 * Tries the transports of `order` in turn until one is welcomed, the server ends the session
 * (its CLOSE), or trying the next cannot help: a refusal for good or a session gone, or an HTTP
 * request that could not reach the host the next one goes to as well. Resolves with the last
 * outcome, or undefined once the run that asked is over.
 */
export async function tryInTurn(
  order: readonly TransportName[],
  attempt: (name: TransportName) => Promise<Attempt>,
  isLive: () => boolean,
  log: (message: string) => void,
): Promise<Attempt | undefined> {
  let last: Attempt = { ok: false, reason: 'no transport offered' }
  for (const name of order) {
    last = await attempt(name)
    if (!isLive()) return undefined
    if (last.ok || last.close) return last
    log(`${name} failed: ${last.reason}`)
    if (last.code && (FATAL_CODES.has(last.code) || SESSION_GONE.has(last.code))) break
    if (last.code === 'CONNECT_FAILED' && TRANSPORT_MODULES[name].traits.http) break
  }
  return last
}
