import type { TransportName } from '@switchboard/protocol'

/** Transports that can be probed in the background (a ping/pong before the switch), best first. */
const PROBEABLE: readonly TransportName[] = ['websocket', 'sse']

export interface UpgradeOptions {
  delayMs: number
  maxDelayMs: number
}

/**
 * The transports worth probing while the session is on `current`: those the client prefers to
 * it, that the server offers and that can be probed, best first (WebSocket only where the
 * runtime has one).
 */
export function upgradeCandidates(
  current: TransportName,
  preferred: readonly TransportName[],
  offered: readonly TransportName[],
  hasWebSocket: boolean,
): TransportName[] {
  const order = preferred.filter((t) => offered.includes(t))
  const better = order.slice(0, Math.max(0, order.indexOf(current)))
  return better.filter((t) => PROBEABLE.includes(t) && (t !== 'websocket' || hasWebSocket))
}

/** Delay before the next probe: `delayMs`, doubling with each failed round, up to `maxDelayMs`. */
export function nextUpgradeDelay(options: UpgradeOptions, failures: number): number {
  return Math.min(options.maxDelayMs, options.delayMs * 2 ** failures)
}
