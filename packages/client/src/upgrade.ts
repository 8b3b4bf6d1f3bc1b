import type { TransportName } from '@switchboard/protocol'

/** The transport worth probing in the background (long polling and SSE are never upgrades to). */
export const UPGRADE_TARGET: TransportName = 'websocket'

export interface UpgradeOptions {
  delayMs: number
  maxDelayMs: number
}

/**
 * When to probe WebSocket next while the session is on `current`, or null when there is nothing
 * better to probe: already on it, not wanted, not offered by the server, or no WebSocket here.
 * The delay doubles with each failed probe, up to `maxDelayMs`.
 */
export function nextUpgradeDelay(
  options: UpgradeOptions | false,
  current: TransportName,
  preferred: readonly TransportName[],
  offered: readonly TransportName[],
  failures: number,
  hasWebSocket: boolean,
): number | null {
  if (!options || current === UPGRADE_TARGET || !hasWebSocket) return null
  const order = preferred.filter((t) => offered.includes(t))
  const target = order.indexOf(UPGRADE_TARGET)
  if (target === -1 || target > order.indexOf(current)) return null
  return Math.min(options.maxDelayMs, options.delayMs * 2 ** failures)
}
