// Small statistics: percentiles of samples, medians and ranges of runs.

/** The q-quantile (0..1) of numbers, nearest-rank on a sorted copy. */
export function quantile(values, q) {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

export const median = (values) => {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * Summarizes runs metric by metric: `{ metric: { median, min, max, n } }`, over the runs that
 * completed (a run that failed or timed out is counted apart, never averaged in).
 */
export function summarize(runs) {
  const ok = runs.filter((r) => r.ok)
  const metrics = {}
  for (const run of ok) {
    for (const [k, v] of Object.entries(run.metrics)) if (typeof v === 'number' && Number.isFinite(v)) (metrics[k] ??= []).push(v)
  }
  const out = {}
  for (const [k, values] of Object.entries(metrics))
    out[k] = { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length }
  return { metrics: out, ok: ok.length, failed: runs.length - ok.length, errors: runs.filter((r) => !r.ok).map((r) => r.error) }
}
