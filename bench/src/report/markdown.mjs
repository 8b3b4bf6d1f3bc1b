// The results document as Markdown (tables with medians, ranges and ratios) plus its SVG charts.
import { describeChurn } from '../churn/view.mjs'
import { baselinesOf } from '../targets.mjs'
import { BESIDE_INTRO, besideTable } from './beside.mjs'
import { evaluateGoals, goalsTable } from './goals.mjs'
import { cell, fmt, METRICS, ratio, VIEWS } from './metrics.mjs'
import { barChart } from './svg.mjs'

const KiB = 1024
const size = (b) => (b >= KiB ? `${b / KiB} KiB` : `${b} B`)

function describe(s) {
  const p = s.params
  switch (s.kind) {
    case 'latency':
      return `${p.count.toLocaleString('en-US')} sequential round trips of ${size(p.size)} messages (one in flight), or as many as fit in ${p.maxMs / 1000} s (the slow HTTP transports stop there), once the round trip is steady: after a warm-up of at least ${p.warmup.toLocaleString('en-US')} round trips and ${p.warmupMs / 1000} s (at most ${p.warmupMaxMs / 1000} s). "First round trips/s" times the first ${p.cold.toLocaleString('en-US')} of the warm-up on their own: a new process pair, code not yet optimized.`
    case 'burst':
      return `${p.count.toLocaleString('en-US')} messages of ${size(p.size)}, at most ${p.window} in flight, once the pipeline is steady: after warm-up bursts of ${p.warmup.toLocaleString('en-US')} for at least ${p.warmupMs / 1000} s; "first burst" times the first warm-up burst on its own (a new process pair). Every echo is checked (index once, payload intact).${s.server?.deflate ? ' Servers offer permessage-deflate; clients accept it.' : ''}`
    case 'fanout':
      return `${p.clients} clients receive; one of them broadcasts ${p.broadcasts} messages of ${size(p.size)} at once; all ${(p.clients * p.broadcasts).toLocaleString('en-US')} deliveries are checked (once, in order). Timed once steady: after warm-up rounds for at least ${p.warmupMs / 1000} s; "first round" times the first of them (a new process pair).`
    case 'flood':
      return `${p.count.toLocaleString('en-US')} messages of ${size(p.size)} sent in a plain loop, nothing awaited and no window (\`client.call\`, \`socket.emit\`, \`ws.send\`, \`sock.send\`), then a wait for every echo; timed from the first send to the last echo, as the first load of a new process pair (no warm-up: the cold start a real burst pays). Every echo is checked (index once, payload intact); a request the library refuses or loses fails the run, and the table shows the error. Beside it, \`${s.pairedWith}\` (the same size with a window): its first burst from a new process pair and its steady rate.`
    case 'idle':
      return `Memory per session = (server memory with N sessions open − the empty server's) / N, for N = ${p.few.toLocaleString('en-US')} and then ${p.many.toLocaleString('en-US')} (the same sessions and more), RSS and V8 heap each taken after two full GCs (--expose-gc), once V8 has returned the heap it grew for the handshakes' garbage (heap slack back within 2 MiB of the empty server's, at most ${p.settleMaxMs / 1000} s). The empty server is measured the same way (${p.settleMs / 1000} s after start, two full GCs), so code, JIT and first-use buffers count for every target alike. Each library keeps its default heartbeat.`
    case 'scale':
      return `${p.sessions.toLocaleString('en-US')} concurrent sessions opened ${p.concurrency} at a time ("connect all": from the first handshake until every session is open); every server sends a heartbeat every ${s.server?.heartbeatMs} ms; once the heap has settled, server CPU and bytes over a ${p.windowMs / 1000} s idle window. Memory per session: the \`idle\` scenario.`
    case 'churn':
      return describeChurn(p)
    default:
      return ''
  }
}

/** Rows = targets that ran `scenarioId`, in TARGETS order. */
const rowsOf = (doc, scenarioId) => doc.targets.filter((t) => doc.results[scenarioId]?.[t.id])
const stat = (doc, s, t, m) => doc.results[s]?.[t]?.metrics[m]

function chart(file, title, subtitle, targets, series) {
  return {
    file,
    svg: barChart({
      title,
      subtitle,
      rows: targets.map((t) => ({ label: t.label, library: t.library })),
      series: series.map(([name, values]) => ({ name, values: targets.map(values) })),
    }),
  }
}

function scenarioSection(doc, s, charts) {
  const view = VIEWS[s.kind]
  const targets = rowsOf(doc, s.id)
  if (targets.length === 0) return ''
  const out = [`## ${s.title} (\`${s.id}\`)`, '', describe(s), '']
  // Figures of a paired scenario (the windowed burst beside the unwindowed one), named by its id.
  const paired =
    s.pairedWith && doc.results[s.pairedWith]
      ? (view.paired ?? []).map((m) => ({ label: `${s.pairedWith}: ${METRICS[m].label}`, of: (t) => stat(doc, s.pairedWith, t.id, m) ?? null }))
      : []
  for (const metrics of view.charts) {
    const file = `charts/${s.id}-${metrics.join('-')}.svg`
    const better = METRICS[metrics[0]].better === 'higher' ? 'higher is better' : 'lower is better'
    const series = [...metrics.map((m) => [METRICS[m].label, (t) => stat(doc, s.id, t.id, m) ?? null]), ...paired.map((p) => [p.label, p.of])]
    charts.push(
      chart(file, `${s.title}: ${metrics.map((m) => METRICS[m].label).join(', ')}`, `median of runs, whisker = min–max; ${better}`, targets, series),
    )
    out.push(`![${s.id} ${metrics.join(' ')}](${file})`, '')
  }
  const h = view.headline
  const head = [
    'target',
    ...view.columns.map((m) => METRICS[m].label),
    ...paired.map((p) => p.label),
    `${METRICS[h].label} × raw ws`,
    '× Socket.IO same kind',
    '× SockJS same kind',
  ]
  out.push(
    `| ${head.join(' | ')} |`,
    `| --- | ${head
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
  )
  for (const t of targets) {
    const r = doc.results[s.id][t.id]
    const b = baselinesOf(t)
    const mine = r.metrics[h]
    const failed = r.failed ? ` ⚠ ${r.failed} run(s) failed` : ''
    const cols =
      r.ok === 0
        ? view.columns.map((_, k) => (k === 0 ? `failed: ${(r.errors[0] ?? '').slice(0, 120)}` : '–'))
        : view.columns.map((m) => cell(r.metrics[m]))
    const vs = (id) => (id === t.id ? '1.00×' : ratio(mine, stat(doc, s.id, id, h)))
    out.push(
      `| ${t.label}${failed} | ${[...cols, ...paired.map((p) => cell(p.of(t)))].join(' | ')} | ${vs(b.floor)} | ${vs(b.sio)} | ${vs(b.sockjs)} |`,
    )
  }
  out.push(
    '',
    `Ratios divide medians of \`${METRICS[h].label}\` (${METRICS[h].better} is better). "Same kind": websocket with websocket, SSE with SockJS xhr-streaming and Socket.IO polling (it has no streaming transport), long polling with polling.`,
    '',
  )
  return out.join('\n')
}

function deflateSection(doc, charts) {
  const targets = rowsOf(doc, 'deflate-4k')
  if (targets.length === 0) return ''
  charts.push(
    chart(
      'charts/deflate-4k.svg',
      'permessage-deflate, 4 KiB JSON echo burst: msgs/s',
      'off vs on; median, whisker = min–max; higher is better',
      targets,
      [
        ['off', (t) => stat(doc, 'burst-4k', t.id, 'msgsPerSec') ?? null],
        ['on', (t) => stat(doc, 'deflate-4k', t.id, 'msgsPerSec') ?? null],
      ],
    ),
  )
  charts.push(
    chart(
      'charts/deflate-4k-bytes.svg',
      'permessage-deflate, 4 KiB JSON: wire bytes per echoed message (both ways)',
      'off vs on; lower is better',
      targets,
      [
        ['off', (t) => stat(doc, 'burst-4k', t.id, 'wireBytesPerMsg') ?? null],
        ['on', (t) => stat(doc, 'deflate-4k', t.id, 'wireBytesPerMsg') ?? null],
      ],
    ),
  )
  const out = [
    '## permessage-deflate on/off, 4 KiB JSON (`deflate-4k` vs `burst-4k`)',
    '',
    'The same realistic 4 KiB JSON burst with the server offering permessage-deflate (`ws` defaults; Switchboard through `listen({ perMessageDeflate: true })`). SockJS (faye-websocket) offers none.',
    '',
    '![deflate msgs/s](charts/deflate-4k.svg)',
    '',
    '![deflate bytes](charts/deflate-4k-bytes.svg)',
    '',
  ]
  out.push(
    '| target | msgs/s off | msgs/s on | on/off | wire B/msg off | wire B/msg on | on/off |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const t of targets) {
    const m = (s, k) => stat(doc, s, t.id, k)
    out.push(
      `| ${t.label} | ${cell(m('burst-4k', 'msgsPerSec'))} | ${cell(m('deflate-4k', 'msgsPerSec'))} | ${ratio(m('deflate-4k', 'msgsPerSec'), m('burst-4k', 'msgsPerSec'))} | ${cell(m('burst-4k', 'wireBytesPerMsg'))} | ${cell(m('deflate-4k', 'wireBytesPerMsg'))} | ${ratio(m('deflate-4k', 'wireBytesPerMsg'), m('burst-4k', 'wireBytesPerMsg'))} |`,
    )
  }
  return `${out.join('\n')}\n`
}

function wireSection(doc, charts) {
  const targets = doc.targets.filter((t) => doc.results.latency?.[t.id] || doc.results['burst-64']?.[t.id])
  if (targets.length === 0) return ''
  const cols = [
    ['latency', 'wireBytesPerRoundTrip', 'sequential echo, B/round trip'],
    ['burst-64', 'wireBytesPerMsg', 'pipelined echo, B/message'],
    ['fanout', 'wireBytesPerDelivery', 'fan-out, B/delivery'],
    ['scale', 'idleBytesPerSessionPerSec', 'idle heartbeat, B/session/s'],
  ]
  charts.push(
    chart(
      'charts/wire-bytes.svg',
      'Bytes on the wire per 64 B message (TCP payload, both directions, HTTP headers included)',
      'counted on the server sockets; lower is better',
      targets,
      cols.slice(0, 3).map(([s, m, name]) => [name, (t) => stat(doc, s, t.id, m) ?? null]),
    ),
  )
  const out = [
    '## Bytes on the wire',
    '',
    'TCP payload bytes in both directions counted on every server socket (`bytesRead + bytesWritten`), HTTP request and response headers included, TCP/IP headers not. The application message is 64 B of JSON.',
    '',
    '![wire bytes](charts/wire-bytes.svg)',
    '',
  ]
  out.push(`| target | ${cols.map((c) => c[2]).join(' | ')} |`, `| --- | ${cols.map(() => '---:').join(' | ')} |`)
  for (const t of targets) out.push(`| ${t.label} | ${cols.map(([s, m]) => cell(stat(doc, s, t.id, m))).join(' | ')} |`)
  return `${out.join('\n')}\n`
}

function headline(doc) {
  const cols = [
    ['latency', 'roundTripsPerSec'],
    ['latency', 'p50Ms'],
    ['burst-64', 'msgsPerSec'],
    ['burst-4k', 'msgsPerSec'],
    ['burst-64k', 'msgsPerSec'],
    ['flood-64', 'msgsPerSec'],
    ['flood-4k', 'msgsPerSec'],
    ['flood-64k', 'msgsPerSec'],
    ['fanout', 'deliveriesPerSec'],
    ['idle', 'rssKiBPerSession1k'],
    ['idle', 'rssKiBPerSession10k'],
    ['scale', 'connectAllMs'],
  ].filter(([s]) => doc.results[s])
  const out = [`| target | ${cols.map(([s, m]) => `${s} ${METRICS[m].label}`).join(' | ')} |`, `| --- | ${cols.map(() => '---:').join(' | ')} |`]
  const value = (s, t, m) => (doc.results[s]?.[t]?.ok === 0 ? 'failed' : fmt(stat(doc, s, t, m)?.median))
  for (const t of doc.targets) out.push(`| ${t.label} | ${cols.map(([s, m]) => value(s, t.id, m)).join(' | ')} |`)
  return out.join('\n')
}

export function machineLine(doc) {
  const m = doc.machine
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB${m.virtualization ? ` (${m.virtualization})` : ''}, ${m.os}, Node ${m.node}; Switchboard at ${m.commit}${m.dirty ? ' + uncommitted changes in packages/' : ''}`
}

/** @returns {{ md: string, charts: { file: string, svg: string }[], goals: ReturnType<typeof evaluateGoals> }} */
export function renderMarkdown(doc) {
  const charts = []
  const goals = evaluateGoals(doc.results)
  const v = Object.entries(doc.versions)
    .map(([k, ver]) => `${k} ${ver}`)
    .join(', ')
  const out = [
    `# Switchboard benchmark results (${doc.mode})`,
    '',
    `- Machine: ${machineLine(doc)}`,
    `- Packages: ${v}`,
    `- ${doc.runs} run(s) per scenario and target, ${doc.mode === 'quick' ? 'each target in one server and one client process per permessage-deflate setting (development numbers)' : 'each in fresh server and client processes'}${doc.pinned ? ' (server pinned to CPU 0, client to CPU 1)' : ''}; started ${doc.started}, took ${Math.round(doc.durationSec)} s.`,
    ...doc.notes.map((n) => `- ${n}`),
    '',
    'Medians of the runs, with the range (min–max) under them. Ratios compare medians measured in this same run. No absolute thresholds are asserted anywhere.',
    '',
    '## Goals',
    '',
    goalsTable(goals),
    '',
    '## Beside the goals',
    '',
    BESIDE_INTRO,
    '',
    besideTable(doc),
    '',
    '## Headline',
    '',
    headline(doc),
    '',
  ]
  for (const s of doc.scenarios) if (s.id !== 'deflate-4k') out.push(scenarioSection(doc, s, charts))
  out.push(deflateSection(doc, charts), wireSection(doc, charts))
  const failures = doc.scenarios.flatMap((s) =>
    doc.targets.flatMap((t) => (doc.results[s.id]?.[t.id]?.errors ?? []).map((e) => `- \`${s.id}\` ${t.label}: ${e}`)),
  )
  if (failures.length) out.push('## Failed runs', '', ...failures, '')
  return {
    md: `${out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()}\n`,
    charts,
    goals,
  }
}
