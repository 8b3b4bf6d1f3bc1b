// The ceiling's figures: the restart's timeline and negotiate rate, the projection to larger
// nodes (with the assumptions it rests on), and the Markdown that prints them.
import v8 from 'node:v8'
import { machineLine } from '../report/markdown.mjs'
import { fmt } from '../report/metrics.mjs'

/** HEARTBEAT_MS in packages/protocol/src/constants.ts: the server's default heartbeatMs. */
const DEFAULT_HEARTBEAT_MS = 25_000
/** sb.close()'s defaults (packages/server README): reconnectMs 1000, spread 1 ms per session or more. */
const RECONNECT_MS = 1_000
const n = (v) => Math.round(v).toLocaleString('en-US')
/** When the share `q` of all `sessions` was back (the sorted return times), or undefined if it never was. */
const whenShare = (sorted, q, sessions) => sorted[Math.ceil(q * sessions) - 1]

/** Seconds after `closeUs` of each step, the negotiates per window, and how the sessions came back. */
export function restartFigures({ closeUs, closedUs, exitedUs, listeningUs, oldWindows, windows, backs, sessions }) {
  const s = (us) => (us === undefined ? null : (us - closeUs) / 1e6)
  const backUs = backs.flatMap((b) => b.backUs).sort((a, b) => a - b)
  const sorted = [...windows].sort((a, b) => a.startUs - b.startUs)
  const peak = sorted.reduce((best, w) => (w.answered + w.refused > best.answered + best.refused ? w : best), { answered: 0, refused: 0 })
  // Per second since the close: the old server's 503s, the new server's negotiates, sessions back.
  const perSecond = []
  const second = (us) => {
    const k = Math.max(0, Math.floor(s(us)))
    perSecond[k] ??= { second: k, oldRefused: 0, answered: 0, refused: 0, back: 0 }
    return perSecond[k]
  }
  for (const w of oldWindows) if (w.refused && w.startUs >= closeUs) second(w.startUs).oldRefused += w.refused
  for (const w of sorted) {
    second(w.startUs).answered += w.answered
    second(w.startUs).refused += w.refused
  }
  for (const us of backUs) second(us).back++
  return {
    sessions,
    closedS: s(closedUs),
    exitedS: s(exitedUs),
    listeningS: s(listeningUs),
    firstNegotiateS: s(sorted[0]?.startUs),
    halfBackS: s(whenShare(backUs, 0.5, sessions)),
    p99BackS: s(whenShare(backUs, 0.99, sessions)),
    allBackS: backUs.length === sessions ? s(backUs.at(-1)) : null,
    back: backUs.length,
    gaveUp: backs.reduce((k, b) => k + b.gaveUp, 0),
    // Why clients waited before their return (the reason of each move to backoff), most frequent first.
    backoffs: Object.entries(
      backs.reduce((all, b) => {
        for (const [reason, k] of Object.entries(b.backoffs)) all[reason] = (all[reason] ?? 0) + k
        return all
      }, {}),
    ).sort((a, b) => b[1] - a[1]),
    oldRefused: oldWindows.reduce((k, w) => k + w.refused, 0),
    answered: sorted.reduce((k, w) => k + w.answered, 0),
    refused: sorted.reduce((k, w) => k + w.refused, 0),
    peakPer100ms: peak.answered + peak.refused,
    peakAtS: peak.startUs === undefined ? null : s(peak.startUs),
    perSecond: perSecond.filter(Boolean),
  }
}

/** Linear projection of what was measured to larger nodes; the assumptions are printed with it. */
export function project(doc) {
  const { memory, heartbeat, connect, options } = doc
  const cpuPerSession = (heartbeat.cpuPct * (heartbeat.heartbeatMs / DEFAULT_HEARTBEAT_MS)) / options.sessions
  return [options.sessions, 100_000, 1_000_000].map((sessions) => ({
    sessions,
    rssGiB: (memory.emptyRssMiB + (memory.rssKiB * sessions) / 1024) / 1024,
    heapGiB: (memory.emptyHeapMiB + (memory.heapKiB * sessions) / 1024) / 1024,
    heartbeatCpuPct: cpuPerSession * sessions,
    restartSpreadS: (RECONNECT_MS + Math.max(RECONNECT_MS, sessions)) / 1000,
    connectS: sessions / connect.perSec,
  }))
}

export function ceilingMarkdown(doc) {
  const { memory: m, heartbeat: h, restart: r, options: o } = doc
  const atDefault = h.cpuPct * (h.heartbeatMs / DEFAULT_HEARTBEAT_MS)
  const heapLimitGiB = v8.getHeapStatistics().heap_size_limit / 2 ** 30
  const sec = (v) => (v === null ? '–' : `${v.toFixed(2)} s`)
  const out = [
    "# One node's ceiling: Switchboard over WebSocket",
    '',
    `- Machine: ${machineLine(doc)}`,
    `- ${n(o.sessions)} idle sessions from ${o.clients} client processes (source addresses 127.0.0.2–${1 + o.clients})${doc.pinned ? ', server pinned to CPU 0, clients to CPU 1' : ''}; ulimit -n ${n(o.openFileLimit)}; started ${doc.started}.`,
    '- Memory is measured as in the `idle` scenario: server RSS and heap after two full GCs, once settled, minus the empty server measured the same way, divided by the sessions.',
    '',
    '## Held',
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| sessions held | ${n(o.sessions)} |`,
    `| connect all (${o.clients} client processes, 50 handshakes at a time each) | ${(doc.connect.ms / 1000).toFixed(1)} s, ${n(doc.connect.perSec)} sessions/s |`,
    `| empty server: RSS / heap | ${fmt(m.emptyRssMiB)} / ${fmt(m.emptyHeapMiB)} MiB |`,
    `| with ${n(o.sessions)} sessions: RSS / heap (settled after ${(m.settledMs / 1000).toFixed(0)} s) | ${fmt(m.rssMiB)} / ${fmt(m.heapMiB)} MiB |`,
    `| per session: RSS / heap | ${fmt(m.rssKiB)} / ${fmt(m.heapKiB)} KiB |`,
    `| server CPU over a ${o.windowMs / 1000} s idle window, heartbeatMs ${h.heartbeatMs} | ${fmt(h.cpuPct)}% of one core |`,
    `| ↳ scaled to the default heartbeatMs ${DEFAULT_HEARTBEAT_MS} | ${fmt(atDefault)}% of one core (${fmt((atDefault / o.sessions) * 1000)}% per 1,000 sessions) |`,
    '',
    '## Projection per node',
    '',
    '| sessions | RSS | V8 heap | heartbeat CPU at the default 25 s | a restart spreads returns over | connecting all at the rate above |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...doc.projection.map(
      (p) =>
        `| ${n(p.sessions)} | ${fmt(p.rssGiB)} GiB | ${fmt(p.heapGiB)} GiB | ${fmt(p.heartbeatCpuPct)}% of one core | ${n(p.restartSpreadS)} s | ${n(p.connectS)} s |`,
    ),
    '',
    'Assumptions: memory and heartbeat CPU grow linearly with sessions, at the per-session cost measured here (idle sessions: no subscriptions, nothing in flight, empty replay buffers);',
    `all of the idle window's CPU is heartbeat work (timers and GC included) and scales with the heartbeat's frequency; RSS leaves out the kernel's socket buffers; one process runs its JavaScript on one core,`,
    `so past 100% it cannot keep up; V8's heap limit here is ${fmt(heapLimitGiB)} GiB (\`--max-old-space-size\` raises it); one open file per session (\`ulimit -n\` above the sessions);`,
    '`maxSessions` (default 100,000) raised for more; clients from enough source addresses (one address has the ephemeral ports of `ip_local_port_range`, about 28,000 here);',
    "a restart at sb.close()'s defaults (come back after 1 s plus a random share of 1 ms per session) takes that spread for every session to return, about 1,000 negotiates a second.",
    '',
    '## Restart',
    '',
    `sb.close() with its defaults on the server holding ${n(o.sessions)} sessions, the process stopped, a new process on the same port (default options). Seconds after close() was called:`,
    '',
    '| step | at |',
    '| --- | ---: |',
    `| sb.close() resolved (every session told when to come back) | ${sec(r.closedS)} |`,
    `| old process exited | ${sec(r.exitedS)} |`,
    `| new process listening | ${sec(r.listeningS)} |`,
    `| first negotiate at the new process | ${sec(r.firstNegotiateS)} |`,
    `| half the sessions back | ${sec(r.halfBackS)} |`,
    `| 99% back | ${sec(r.p99BackS)} |`,
    `| **every session back** | **${r.allBackS === null ? `not all: ${n(r.back)} of ${n(r.sessions)} back, ${n(r.gaveUp)} gave up` : sec(r.allBackS)}** |`,
    '',
    `Negotiates: the closing process refused ${n(r.oldRefused)} (503 with Retry-After); the new one answered ${n(r.answered)} and refused ${n(r.refused)}, and counts ${n(r.sessionsAfter ?? 0)} sessions at the end.`,
    `**Peak negotiate rate at the new process: ${n(r.peakPer100ms)} in one 100 ms window (${n(r.peakPer100ms * 10)}/s)**${r.peakAtS === null ? '' : `, at ${r.peakAtS.toFixed(1)} s`}.${r.notOpenBefore ? ` ${n(r.notOpenBefore)} sessions were not open when the restart began.` : ''}`,
    '',
    `CPU from close() until the last return (or the wait's end): the new server ${fmt(r.serverCpuPct)}% of one core, the client processes together ${fmt(r.clientCpuPct)}% (they share one core: at 100% the clients, not the server, set the pace).`,
    `Event loop delay, p99 / max: the new server ${fmt(r.serverLagMs.p99)} / ${fmt(r.serverLagMs.max)} ms, the busiest client process ${fmt(r.clientLagMs.p99)} / ${fmt(r.clientLagMs.max)} ms (a client's attempt times out after 5 s of its own clock).`,
    `The spread asks for about ${n(o.sessions / ((RECONNECT_MS + Math.max(RECONNECT_MS, o.sessions)) / 1000))} returns a second; the client processes opened ${n(doc.connect.perSec)} sessions a second above, ${n(o.clients * 50)} at a time.${r.clientLagMs.max > 5_000 ? ' **The client processes fell behind by more than an attempt timeout: these returns measure them as much as the server.**' : ''}`,
    `Sessions the new process holds that no client uses (negotiated, then left when the client timed out and negotiated again; they expire after recoveryMs): ${n(Math.max(0, (r.sessionsAfter ?? 0) - r.back))}.`,
    '',
    `Clients moved to backoff ${n(r.backoffs.reduce((k, [, c]) => k + c, 0))} times before their return: ${
      r.backoffs
        .slice(0, 8)
        .map(([reason, k]) => `${n(k)}× "${reason}"`)
        .join(', ') || 'never'
    }${r.backoffs.length > 8 ? ', ...' : ''}.`,
    '',
    '| second after close() | refused by the closing process | answered by the new one | refused by the new one | sessions back |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...r.perSecond.map((w) => `| ${w.second} | ${n(w.oldRefused)} | ${n(w.answered)} | ${n(w.refused)} | ${n(w.back)} |`),
  ]
  return `${out.join('\n')}\n`
}
