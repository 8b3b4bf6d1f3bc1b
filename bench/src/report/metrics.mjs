// What each metric is called, which way is better, and which metrics each scenario shows.
import { CHURN_METRICS, CHURN_VIEW } from '../churn/view.mjs'

/** @type {Record<string, { label: string, better: 'higher' | 'lower', unit?: string }>} */
export const METRICS = {
  roundTripsPerSec: { label: 'round trips/s', better: 'higher' },
  roundTrips: { label: 'round trips timed', better: 'higher' },
  coldRoundTripsPerSec: { label: 'first round trips/s (new process)', better: 'higher' },
  p50Ms: { label: 'p50 ms', better: 'lower', unit: 'ms' },
  p99Ms: { label: 'p99 ms', better: 'lower', unit: 'ms' },
  wireBytesPerRoundTrip: { label: 'wire B/round trip', better: 'lower', unit: 'B' },
  msgsPerSec: { label: 'msgs/s', better: 'higher' },
  coldMsgsPerSec: { label: 'first burst msgs/s (new process)', better: 'higher' },
  mibPerSec: { label: 'MiB/s', better: 'higher' },
  wireBytesPerMsg: { label: 'wire B/msg', better: 'lower', unit: 'B' },
  delivered: { label: 'delivered', better: 'higher' },
  deliveriesPerSec: { label: 'deliveries/s', better: 'higher' },
  coldDeliveriesPerSec: { label: 'first round deliveries/s (new process)', better: 'higher' },
  wireBytesPerDelivery: { label: 'wire B/delivery', better: 'lower', unit: 'B' },
  rssKiBPerSession1k: { label: 'RSS KiB/session at 1,000', better: 'lower', unit: 'KiB' },
  heapKiBPerSession1k: { label: 'heap KiB/session at 1,000', better: 'lower', unit: 'KiB' },
  rssKiBPerSession10k: { label: 'RSS KiB/session at 10,000', better: 'lower', unit: 'KiB' },
  heapKiBPerSession10k: { label: 'heap KiB/session at 10,000', better: 'lower', unit: 'KiB' },
  emptyRssMiB: { label: 'empty server RSS MiB', better: 'lower', unit: 'MiB' },
  emptyHeapMiB: { label: 'empty server heap MiB', better: 'lower', unit: 'MiB' },
  connectAllMs: { label: 'connect all, ms', better: 'lower', unit: 'ms' },
  connectsPerSec: { label: 'connects/s', better: 'higher' },
  serverCpuMsPer1k: { label: 'server CPU ms per 1,000 connects', better: 'lower', unit: 'ms' },
  clientCpuMsPer1k: { label: 'client CPU ms per 1,000 connects', better: 'lower', unit: 'ms' },
  rssMiB: { label: 'server RSS MiB', better: 'lower', unit: 'MiB' },
  idleCpuPct: { label: 'heartbeat CPU %', better: 'lower', unit: '%' },
  idleBytesPerSessionPerSec: { label: 'idle wire B/session/s', better: 'lower', unit: 'B' },
  ...CHURN_METRICS,
}

/** Per scenario kind: the headline metric (ratios are taken on it), the table columns, the charts. */
export const VIEWS = {
  latency: {
    headline: 'roundTripsPerSec',
    columns: ['roundTripsPerSec', 'p50Ms', 'p99Ms', 'coldRoundTripsPerSec', 'wireBytesPerRoundTrip', 'roundTrips'],
    charts: [
      ['roundTripsPerSec', 'coldRoundTripsPerSec'],
      ['p50Ms', 'p99Ms'],
    ],
  },
  burst: { headline: 'msgsPerSec', columns: ['msgsPerSec', 'mibPerSec', 'coldMsgsPerSec', 'wireBytesPerMsg', 'delivered'], charts: [['msgsPerSec']] },
  // `paired`: the windowed burst's figures (scenario.pairedWith), shown beside in the table and chart.
  flood: {
    headline: 'msgsPerSec',
    columns: ['msgsPerSec', 'mibPerSec', 'wireBytesPerMsg', 'delivered'],
    charts: [['msgsPerSec']],
    paired: ['coldMsgsPerSec', 'msgsPerSec'],
  },
  fanout: {
    headline: 'deliveriesPerSec',
    columns: ['deliveriesPerSec', 'coldDeliveriesPerSec', 'wireBytesPerDelivery', 'delivered'],
    charts: [['deliveriesPerSec']],
  },
  idle: {
    headline: 'rssKiBPerSession1k',
    columns: ['rssKiBPerSession1k', 'heapKiBPerSession1k', 'rssKiBPerSession10k', 'heapKiBPerSession10k', 'emptyRssMiB', 'emptyHeapMiB', 'rssMiB'],
    charts: [
      ['rssKiBPerSession1k', 'rssKiBPerSession10k'],
      ['heapKiBPerSession1k', 'heapKiBPerSession10k'],
    ],
  },
  scale: {
    headline: 'connectAllMs',
    columns: ['connectAllMs', 'connectsPerSec', 'serverCpuMsPer1k', 'clientCpuMsPer1k', 'rssMiB', 'idleCpuPct', 'idleBytesPerSessionPerSec'],
    charts: [['connectsPerSec'], ['idleCpuPct']],
  },
  churn: CHURN_VIEW,
}

/** 12345.6 -> "12,346"; 12.34 -> "12.3"; 1.234 -> "1.23". */
export function fmt(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** "median (min–max)" of one metric, or "–". */
export function cell(stat) {
  if (!stat) return '–'
  if (stat.n === 1 || stat.min === stat.max) return fmt(stat.median)
  return `${fmt(stat.median)} <sub>(${fmt(stat.min)}–${fmt(stat.max)})</sub>`
}

/** Ratio of medians a/b as "1.23×", or "–". */
export function ratio(a, b) {
  if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median) || b.median === 0) return '–'
  return `${(a.median / b.median).toFixed(2)}×`
}
