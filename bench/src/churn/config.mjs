// The churn scenario's entry in config.mjs: the figures in full mode (1,000 clients, 10
// messages a second for 60 s, a cut every 5-15 s, 1-3 s down), a small one in quick mode.

/** Switchboard on each transport, and Socket.IO over WebSocket with connection state recovery. */
const churned = (t) => t.library === 'switchboard' || t.id === 'sio-ws'

/**
 * @param {<T>(full: T, quick: T) => T} q  picks the full or the quick value
 * @returns {import('../config.mjs').Scenario}
 */
export function churnScenario(q) {
  const durationMs = q(60_000, 15_000)
  return {
    id: 'churn',
    title: 'Churn: every client cut every 5-15 s, offline 1-3 s, during a broadcast',
    kind: 'churn',
    only: churned,
    server: { recovery: true },
    params: {
      clients: q(1_000, 100),
      workers: q(4, 2),
      rate: 10,
      durationMs,
      cutEveryMs: [5_000, 15_000],
      offlineMs: [1_000, 3_000],
      drainMs: 20_000,
    },
    // Opening every client, the broadcast, the drain, the reports.
    deadlineMs: durationMs + 120_000,
    runs: 3,
  }
}
