// The cross-node results as Markdown: per scenario, each metric's median (min–max over runs) for
// both libraries and their ratio; Redis commands per message, command by command; and the goal
// of issue 14, Switchboard's cross-node deliveries/s at least 2x Socket.IO's, for each publisher.

const ROWS = {
  fanout: [
    ['deliveriesPerSec', 'deliveries/s, once warm'],
    ['coldDeliveriesPerSec', 'deliveries/s, first round of new processes'],
    ['p50Ms', 'delivery latency p50 (ms, from publish, in a burst)'],
    ['p99Ms', 'delivery latency p99 (ms, from publish, in a burst)'],
    ['redisCommandsPerPublish', 'Redis commands per publish'],
    ['redisCommandsPerDelivery', 'Redis commands per delivery'],
    ['nodeCpuUsPerDelivery', 'CPU µs per delivery, the three nodes'],
    ['redisCpuUsPerDelivery', 'CPU µs per delivery, redis-server'],
    ['clientCpuUsPerDelivery', 'CPU µs per delivery, the client process'],
    ['wireBytesPerDelivery', 'wire bytes per delivery at the nodes'],
  ],
  roundTrips: [
    ['roundTripsPerSec', 'round trips/s, once warm'],
    ['coldRoundTripsPerSec', 'round trips/s, first ones of new processes'],
    ['p50Ms', 'round trip p50 (ms)'],
    ['p99Ms', 'round trip p99 (ms)'],
    ['redisCommandsPerPublish', 'Redis commands per publish (two per round trip)'],
    ['nodeCpuUsPerDelivery', 'CPU µs per publish and its delivery, the three nodes'],
    ['redisCpuUsPerDelivery', 'CPU µs per publish and its delivery, redis-server'],
    ['clientCpuUsPerDelivery', 'CPU µs per publish and its delivery, the client process'],
  ],
}

/** Issue 14's goal, for each publisher: a client on node 1, and node 1's server-side publish. */
export const GOALS = ['xnode-fanout', 'xnode-fanout-server'].map((scenario) => ({
  scenario,
  metric: 'deliveriesPerSec',
  target: 'sb-ws',
  baseline: 'sio-ws',
  atLeast: 2,
}))

const digits = (v) => (v >= 100 ? 0 : v >= 10 ? 1 : 2)
const num = (v) => (v === undefined || Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits(Math.abs(v)) }))
const cell = (m) => (m ? `${num(m.median)} (${num(m.min)}–${num(m.max)})` : '–')

/** Ratios of `metric` between target and baseline, run by run (run k of each, the same minute). */
function pairRatios(results, { scenario, metric, target, baseline }) {
  const a = results[scenario]?.[target]?.runs ?? []
  const b = results[scenario]?.[baseline]?.runs ?? []
  const out = []
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k].ok && b[k].ok) out.push(a[k].metrics[metric] / b[k].metrics[metric])
  return out
}

/** Median ratio of a goal's metric, the range over run pairs, and whether it is met. */
export function goalStatus(results, goal) {
  const med = (id) => results[goal.scenario]?.[id]?.metrics?.[goal.metric]?.median
  const ratio = med(goal.target) / med(goal.baseline)
  const pairs = pairRatios(results, goal)
  return { ratio, min: Math.min(...pairs), max: Math.max(...pairs), met: ratio >= goal.atLeast }
}

/** `evalsha 1, hget 1, …` from the medians of the `redis.<command>` metrics. */
function commandList(metrics) {
  const parts = Object.entries(metrics ?? {})
    .filter(([k]) => k.startsWith('redis.'))
    .sort((x, y) => y[1].median - x[1].median)
    .map(([k, m]) => `${k.slice(6)} ${num(m.median)}`)
  return parts.length ? parts.join(', ') : '–'
}

/** @param {{ scenarios: import('./config.mjs').ClusterScenario[], targets: import('./config.mjs').ClusterTarget[], results: object }} doc */
export function clusterMarkdown(doc) {
  const { scenarios, targets, results } = doc
  const lines = [
    '# Switchboard benchmark: across nodes',
    '',
    `${doc.started.slice(0, 10)}, ${Math.round(doc.durationSec)} s, ${doc.runs} run(s) per scenario and library; ${doc.pinned ? 'nodes and redis-server on CPU 0, clients on CPU 1' : 'not pinned'}.`,
    `Machine: ${doc.machine.cpu}, ${doc.machine.cores} cores, Node ${doc.machine.node}; Switchboard at ${doc.machine.commit}${doc.machine.dirty ? ' (packages modified)' : ''}.`,
    `Versions: ${Object.entries(doc.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
  ]
  for (const goal of GOALS) {
    const g = goalStatus(results, goal)
    if (Number.isFinite(g.ratio))
      lines.push(
        `- **${goal.scenario}: deliveries/s ≥ ${goal.atLeast}× Socket.IO: ${num(g.ratio)}× (${num(g.min)}–${num(g.max)}× over run pairs), ${g.met ? 'met' : 'not met'}.**`,
      )
  }
  lines.push('')
  for (const s of scenarios) {
    const byTarget = results[s.id] ?? {}
    const [a, b] = targets.map((t) => byTarget[t.id])
    lines.push(`## ${s.id}: ${s.title}`, '', `| metric | ${targets.map((t) => t.label).join(' | ')} |${b ? ' ratio |' : ''}`)
    lines.push(`| --- |${targets.map(() => ' ---: |').join('')}${b ? ' ---: |' : ''}`)
    for (const [key, label] of ROWS[s.kind]) {
      const ratio = b ? ` ${num(a?.metrics[key]?.median / b?.metrics[key]?.median)}× |` : ''
      lines.push(`| ${label} | ${targets.map((t) => cell(byTarget[t.id]?.metrics[key])).join(' | ')} |${ratio}`)
    }
    lines.push(`| Redis commands per publish, by command | ${targets.map((t) => commandList(byTarget[t.id]?.metrics)).join(' | ')} |${b ? ' |' : ''}`)
    const failures = targets.flatMap((t) => (byTarget[t.id]?.errors ?? []).map((e) => `- ${t.label}: ${e}`))
    lines.push('', ...(failures.length ? ['Failed runs (kept out of the medians):', ...failures, ''] : []))
  }
  return lines.join('\n')
}
