// Figures that are not goals but that apps meet: bursts fired without a window from a cold
// process, memory per idle session at two sizes, the time to connect many sessions. Each is
// Switchboard's median on each transport with its ratios to raw ws and to Socket.IO of the same
// kind, measured in the same run; a figure a target could not produce shows its error.
import { baselinesOf, TARGETS } from '../targets.mjs'
import { fmt, METRICS } from './metrics.mjs'

const OURS = TARGETS.filter((t) => t.library === 'switchboard')
const n = (v) => v.toLocaleString('en-US')

/** [scenario, metric, what it is (from the scenario's own sizes)] */
const FIGURES = [
  ['flood-64', 'msgsPerSec', (p) => `${n(p.count)} × 64 B without a window, cold: msgs/s`],
  ['flood-4k', 'msgsPerSec', (p) => `${n(p.count)} × 4 KiB without a window, cold: msgs/s`],
  ['flood-64k', 'msgsPerSec', (p) => `${n(p.count)} × 64 KiB without a window, cold: msgs/s`],
  ['idle', 'rssKiBPerSession1k', (p) => `idle session at ${n(p.few)}: RSS KiB`],
  ['idle', 'heapKiBPerSession1k', (p) => `idle session at ${n(p.few)}: heap KiB`],
  ['idle', 'rssKiBPerSession10k', (p) => `idle session at ${n(p.many)}: RSS KiB`],
  ['idle', 'heapKiBPerSession10k', (p) => `idle session at ${n(p.many)}: heap KiB`],
  ['scale', 'connectAllMs', (p) => `connect ${n(p.sessions)} sessions: ms`],
]

/** The error code a failed run names (OUTBOX_FULL, TIMEOUT, ...), else the start of its message. */
function shortError(error = '') {
  return error.match(/\b[A-Z][A-Z_]{3,}\b/)?.[0] ?? error.slice(0, 40)
}

function cellOf(doc, sid, metric, target) {
  const r = doc.results[sid]?.[target.id]
  if (!r) return '–'
  if (r.ok === 0) return `failed: ${shortError(r.errors[0])}`
  const mine = r.metrics[metric]?.median
  const vs = (id) => {
    const base = doc.results[sid]?.[id]
    if (!base) return null
    const b = base.metrics[metric]?.median
    return b ? `${(mine / b).toFixed(2)}×` : `failed: ${shortError(base.errors[0])}`
  }
  const b = baselinesOf(target)
  const ratios = [
    [vs(b.floor), 'raw ws'],
    [vs(b.sio), 'Socket.IO'],
  ]
    .filter(([v]) => v)
    .map(([v, who]) => `${v} ${who}`)
  const failed = r.failed ? ` ⚠ ${r.failed} of ${r.ok + r.failed} runs failed` : ''
  return `${fmt(mine)}${ratios.length ? ` (${ratios.join(', ')})` : ''}${failed}`
}

export const BESIDE_INTRO =
  'Beside the goals, what apps meet: medians of the same run, with ratios to raw ws and to Socket.IO of the same kind (its polling against SSE and long polling).'

/** Markdown table: one line per figure, one column per Switchboard transport; '' when none ran. */
export function besideTable(doc) {
  const rows = FIGURES.filter(([sid]) => doc.results[sid])
  if (rows.length === 0) return ''
  const lines = [`| figure | ${OURS.map((t) => t.label).join(' | ')} |`, `| --- | ${OURS.map(() => '---:').join(' | ')} |`]
  for (const [sid, metric, what] of rows) {
    const params = doc.scenarios.find((s) => s.id === sid).params
    lines.push(`| ${what(params)} (${METRICS[metric].better} is better) | ${OURS.map((t) => cellOf(doc, sid, metric, t)).join(' | ')} |`)
  }
  return lines.join('\n')
}
