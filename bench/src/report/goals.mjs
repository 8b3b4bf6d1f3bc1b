// The goals, as ratios of medians measured in the same run. Each goal also gets its
// worst-case ratio over the runs (worst run of ours against the best of the baseline), which
// says whether the verdict would hold on any pair of runs, not just the medians.

const g = (text, scenario, metric, ours, base, op, bound) => ({ text, scenario, metric, ours, base, op, bound })

export const GOALS = [
  // Flow control: bursts fired with no window from a cold process, connects, memory at 10,000.
  g('websocket burst without a window, 64 B ≥ 1.0× raw ws', 'flood-64', 'msgsPerSec', 'sb-ws', 'raw-ws', '>=', 1.0),
  g('websocket burst without a window, 4 KiB ≥ 0.8× raw ws', 'flood-4k', 'msgsPerSec', 'sb-ws', 'raw-ws', '>=', 0.8),
  g('websocket round trips/s from a cold process ≥ 0.85× raw ws', 'latency', 'coldRoundTripsPerSec', 'sb-ws', 'raw-ws', '>=', 0.85),
  g('websocket fan-out ≥ 2× raw ws', 'fanout', 'deliveriesPerSec', 'sb-ws', 'raw-ws', '>=', 2.0),
  g('sse burst without a window ≥ 1.0× SockJS xhr-streaming', 'flood-64', 'msgsPerSec', 'sb-sse', 'sockjs-xhr-streaming', '>=', 1.0),
  g('sse burst without a window ≥ 2× Socket.IO polling', 'flood-64', 'msgsPerSec', 'sb-sse', 'sio-polling', '>=', 2.0),
  g('long-polling burst without a window ≥ 1.0× SockJS xhr-polling', 'flood-64', 'msgsPerSec', 'sb-lp', 'sockjs-xhr-polling', '>=', 1.0),
  g('long-polling burst without a window ≥ 2× Socket.IO polling', 'flood-64', 'msgsPerSec', 'sb-lp', 'sio-polling', '>=', 2.0),
  g('long-polling fan-out ≥ 1.2× SockJS xhr-polling', 'fanout', 'deliveriesPerSec', 'sb-lp', 'sockjs-xhr-polling', '>=', 1.2),
  g('connect 10,000 WebSocket sessions ≤ 1.2× raw ws (time)', 'scale', 'connectAllMs', 'sb-ws', 'raw-ws', '<=', 1.2),
  g('↳ server CPU per connect ≤ 1.2× raw ws', 'scale', 'serverCpuMsPer1k', 'sb-ws', 'raw-ws', '<=', 1.2),
  g('memory per idle WebSocket session ≤ 1.2× raw ws (RSS, 10,000 sessions)', 'idle', 'rssKiBPerSession10k', 'sb-ws', 'raw-ws', '<=', 1.2),
  // Earlier goals: windowed bursts, round trips once warm, memory at 1,000.
  g('websocket burst ≥ 1.0× raw ws', 'burst-64', 'msgsPerSec', 'sb-ws', 'raw-ws', '>=', 1.0),
  g('websocket round trips/s ≥ 0.8× raw ws', 'latency', 'roundTripsPerSec', 'sb-ws', 'raw-ws', '>=', 0.8),
  g('memory per idle session ≤ 1.5× raw ws (RSS, 1,000 sessions)', 'idle', 'rssKiBPerSession1k', 'sb-ws', 'raw-ws', '<=', 1.5),
  g('memory per idle session ≤ 0.6× Socket.IO (RSS, 1,000 sessions)', 'idle', 'rssKiBPerSession1k', 'sb-ws', 'sio-ws', '<=', 0.6),
  g('↳ same, heap: ≤ 1.5× raw ws', 'idle', 'heapKiBPerSession1k', 'sb-ws', 'raw-ws', '<=', 1.5),
  g('↳ same, heap: ≤ 0.6× Socket.IO', 'idle', 'heapKiBPerSession1k', 'sb-ws', 'sio-ws', '<=', 0.6),
  g('↳ same, RSS at 10,000 sessions: ≤ 0.6× Socket.IO', 'idle', 'rssKiBPerSession10k', 'sb-ws', 'sio-ws', '<=', 0.6),
  g('sse burst ≥ 1.2× SockJS xhr-streaming', 'burst-64', 'msgsPerSec', 'sb-sse', 'sockjs-xhr-streaming', '>=', 1.2),
  g('sse fan-out ≥ 1.2× SockJS xhr-streaming', 'fanout', 'deliveriesPerSec', 'sb-sse', 'sockjs-xhr-streaming', '>=', 1.2),
  g('sse round trips/s ≥ 0.3× raw ws', 'latency', 'roundTripsPerSec', 'sb-sse', 'raw-ws', '>=', 0.3),
  g('long-polling burst ≥ 1.0× SockJS xhr-polling', 'burst-64', 'msgsPerSec', 'sb-lp', 'sockjs-xhr-polling', '>=', 1.0),
  g('long-polling round trips/s ≥ 3× Socket.IO polling', 'latency', 'roundTripsPerSec', 'sb-lp', 'sio-polling', '>=', 3.0),
  g('websocket burst ≥ 2× Socket.IO websocket', 'burst-64', 'msgsPerSec', 'sb-ws', 'sio-ws', '>=', 2.0),
  g('websocket fan-out ≥ 2× Socket.IO websocket', 'fanout', 'deliveriesPerSec', 'sb-ws', 'sio-ws', '>=', 2.0),
  g('sse burst ≥ 2× Socket.IO polling (its HTTP fallback)', 'burst-64', 'msgsPerSec', 'sb-sse', 'sio-polling', '>=', 2.0),
  g('sse fan-out ≥ 2× Socket.IO polling (its HTTP fallback)', 'fanout', 'deliveriesPerSec', 'sb-sse', 'sio-polling', '>=', 2.0),
  g('long-polling burst ≥ 2× Socket.IO polling', 'burst-64', 'msgsPerSec', 'sb-lp', 'sio-polling', '>=', 2.0),
  g('long-polling fan-out ≥ 2× Socket.IO polling', 'fanout', 'deliveriesPerSec', 'sb-lp', 'sio-polling', '>=', 2.0),
]

/**
 * @param {Record<string, Record<string, { metrics: Record<string, { median: number, min: number, max: number }> }>>} results
 * @returns {{ text: string, ratio: number | null, worst: number | null, best: number | null, status: 'met' | 'not met' | 'no data', bound: number, op: string }[]}
 */
export function evaluateGoals(results) {
  return GOALS.map((goal) => {
    const a = results[goal.scenario]?.[goal.ours]?.metrics[goal.metric]
    const b = results[goal.scenario]?.[goal.base]?.metrics[goal.metric]
    if (!a || !b?.median) return { ...goal, ratio: null, worst: null, best: null, status: 'no data' }
    const ratio = a.median / b.median
    // "Worst" is the end of the range that argues against the goal.
    const low = a.min / b.max
    const high = a.max / b.min
    const [worst, best] = goal.op === '>=' ? [low, high] : [high, low]
    const met = goal.op === '>=' ? ratio >= goal.bound : ratio <= goal.bound
    return { ...goal, ratio, worst, best, status: met ? 'met' : 'not met' }
  })
}

/** Markdown table of the goals. */
export function goalsTable(evaluated) {
  const lines = ['| goal | ratio (median) | range over runs | status |', '| --- | ---: | ---: | --- |']
  for (const e of evaluated) {
    const r = e.ratio === null ? '–' : `${e.ratio.toFixed(2)}×`
    const range = e.worst === null ? '–' : `${Math.min(e.worst, e.best).toFixed(2)}–${Math.max(e.worst, e.best).toFixed(2)}×`
    const holds = e.worst !== null && (e.op === '>=' ? e.worst >= e.bound : e.worst <= e.bound)
    const unsure =
      e.status === 'met'
        ? holds
          ? ''
          : ' (not in every run pair)'
        : e.status === 'not met' && (e.op === '>=' ? e.best >= e.bound : e.best <= e.bound)
          ? ' (met in some run pairs)'
          : ''
    const icon = e.status === 'met' ? '✅ met' : e.status === 'not met' ? '❌ not met' : '– no data'
    lines.push(`| ${e.text} | ${r} | ${range} | ${icon}${unsure} |`)
  }
  return lines.join('\n')
}
