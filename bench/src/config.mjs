// Scenarios and their sizes in full and quick mode. Every count is bounded; every run has a
// deadline. Sizes can be overridden from the command line (see main.mjs --help).

import { churnScenario } from './churn/config.mjs'

const KiB = 1024

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {'latency' | 'burst' | 'flood' | 'fanout' | 'idle' | 'scale' | 'churn'} kind  driver scenario that runs it
 * @property {(t: import('./targets.mjs').Target) => boolean} [only]  targets it applies to
 * @property {{ deflate?: boolean, heartbeatMs?: number, recovery?: boolean }} [server]  server options for it
 * @property {Record<string, number>} params
 * @property {number} deadlineMs  the driver gives up (and reports what it got) after this
 * @property {number} [runs]  runs in full mode when not the default (scale: its runs are long)
 * @property {string} [pairedWith]  a scenario whose figures the report shows beside this one's
 */

/**
 * @param {{ quick: boolean, scaleSessions?: number, scaleAll?: boolean, maxSessions?: number }} mode
 *   `maxSessions`: the most sockets one process may hold here (ulimit -n); larger counts are cut to it
 * @returns {Scenario[]}
 */
export function scenarios({ quick, scaleSessions, scaleAll, maxSessions = Infinity }) {
  const sizeOf = (size) => (size >= KiB ? `${size / KiB} KiB` : `${size} B`)
  const q = (full, small) => (quick ? small : full)
  const deadlineMs = q(90_000, 15_000)
  const burst = (id, size, count, extra = {}) => ({
    id,
    title: `Pipelined echo burst, ${sizeOf(size)} messages${extra.server?.deflate ? ', permessage-deflate on' : ''}`,
    kind: 'burst',
    params: { size, count, window: Math.min(500, Math.floor((512 * KiB) / size)), warmup: q(Math.min(count, 10_000), 100), warmupMs: q(2_000, 0) },
    deadlineMs,
    ...extra,
    // Steady state after a warm-up of 2 s at full speed: past Switchboard's per-session request
    // rate (20,000 a second after a burst of 200,000, a fairness bound the other libraries do not
    // have), which would pace it. Lifted here only; the floods below run on its defaults.
    server: { requestRatePerSecond: 1e9, ...extra.server },
  })
  // No window, no warm-up: `count` sends in a plain loop as the first load of a new process pair.
  // A line that stops echoing (SockJS's Node client and server both stop reading while their
  // writes are backed up) fails after `stallMs` rather than at the deadline.
  const flood = (id, size, count, windowed) => ({
    id,
    title: `Echo burst without a window, from a cold process, ${sizeOf(size)} messages`,
    kind: 'flood',
    params: { size, count, stallMs: q(10_000, 5_000) },
    deadlineMs: q(60_000, 15_000),
    pairedWith: windowed,
    runs: 3,
  })
  return [
    {
      id: 'latency',
      title: 'Sequential echo round trip, 64 B',
      kind: 'latency',
      params: {
        size: 64,
        count: q(10_000, 40),
        warmup: q(3_000, 5),
        warmupMs: q(1_000, 0),
        warmupMaxMs: q(5_000, 1_000),
        cold: q(1_000, 5),
        maxMs: q(15_000, 2_000),
      },
      deadlineMs,
    },
    burst('burst-64', 64, q(50_000, 3_000)),
    burst('burst-4k', 4 * KiB, q(10_000, 300)),
    burst('burst-64k', 64 * KiB, q(500, 30)),
    flood('flood-64', 64, q(50_000, 3_000), 'burst-64'),
    flood('flood-4k', 4 * KiB, q(10_000, 300), 'burst-4k'),
    flood('flood-64k', 64 * KiB, q(1_000, 30), 'burst-64k'),
    burst('deflate-4k', 4 * KiB, q(10_000, 300), { only: (t) => t.deflate, server: { deflate: true } }),
    {
      id: 'fanout',
      title: 'Fan-out: one client broadcasts, every client receives',
      kind: 'fanout',
      params: { size: 64, clients: q(200, 30), broadcasts: q(200, 30), warmupMs: q(2_000, 0) },
      deadlineMs,
    },
    {
      id: 'idle',
      title: 'Memory per idle session, at 1,000 and at 10,000 sessions',
      kind: 'idle',
      params: { few: q(1000, 50), many: Math.min(q(10_000, 200), maxSessions), concurrency: 200, settleMs: q(1000, 200), settleMaxMs: q(15_000, 0) },
      deadlineMs: q(240_000, 20_000),
      runs: 3,
    },
    {
      id: 'scale',
      title: 'Connection scale: many concurrent sessions on one node',
      kind: 'scale',
      only: scaleAll ? undefined : (t) => t.kind === 'websocket',
      server: { heartbeatMs: 2000 },
      params: {
        sessions: Math.min(scaleSessions ?? q(10_000, 200), maxSessions),
        concurrency: 200,
        settleMs: q(1000, 200),
        settleMaxMs: q(15_000, 0),
        windowMs: q(10_000, 1_000),
      },
      deadlineMs: q(240_000, 20_000),
      runs: 3,
    },
    churnScenario(q),
  ]
}

/** Runs per scenario and target: --runs, else 1 in quick mode, else the scenario's own or 5. */
export const runsFor = ({ quick, runs }, scenario) => runs ?? (quick ? 1 : (scenario?.runs ?? 5))
