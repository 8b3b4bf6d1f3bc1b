// How the report shows the churn scenario: its metrics, table columns and charts, and its description.

/** @type {Record<string, { label: string, better: 'higher' | 'lower', unit?: string }>} */
export const CHURN_METRICS = {
  deliveredPct: { label: 'delivered %', better: 'higher', unit: '%' },
  duplicates: { label: 'duplicates', better: 'lower' },
  replayP50Ms: { label: 'replay p50 ms', better: 'lower', unit: 'ms' },
  replayP99Ms: { label: 'replay p99 ms', better: 'lower', unit: 'ms' },
  replayMaxMs: { label: 'replay max ms', better: 'lower', unit: 'ms' },
  waitP50Ms: { label: 'reconnect wait p50 ms', better: 'lower', unit: 'ms' },
  waitP99Ms: { label: 'reconnect wait p99 ms', better: 'lower', unit: 'ms' },
  connects: { label: 'TCP connects', better: 'lower' },
  refused: { label: 'refused', better: 'lower' },
  cuts: { label: 'cuts', better: 'higher' },
}

export const CHURN_VIEW = {
  headline: 'replayP99Ms',
  columns: ['deliveredPct', 'duplicates', 'replayP50Ms', 'replayP99Ms', 'replayMaxMs', 'waitP50Ms', 'waitP99Ms', 'connects', 'refused', 'cuts'],
  charts: [
    ['replayP50Ms', 'replayP99Ms'],
    ['waitP50Ms', 'waitP99Ms'],
    ['connects', 'refused'],
  ],
}

/** The scenario's paragraph in the results. */
export function describeChurn(p) {
  const s = (ms) => `${ms / 1000} s`
  return `${p.clients.toLocaleString('en-US')} clients (in ${p.workers} client processes) subscribed to one broadcast channel; a publisher on a line that is never cut sends ${p.rate} messages a second for ${s(p.durationMs)}. Each client has a TCP line of its own, cut every ${s(p.cutEveryMs[0])}-${s(p.cutEveryMs[1])} (uniform; a cut waits for the client to be back from the one before) and kept down ${s(p.offlineMs[0])}-${s(p.offlineMs[1])}, refusing connections meanwhile. Every library reconnects with its default policy; Socket.IO's server has connection state recovery on (its defaults). Replay latency: publish to receipt of the messages published while that client's line was down. Reconnect wait: line back up to the library's own "connected" (Switchboard \`state\` open, Socket.IO \`connect\`). TCP connects and refused ones: every connection the clients opened while lines were being cut. Delivered: messages received once of all published times clients, after cutting stops and a drain of at most ${s(p.drainMs)}.`
}
