// npm run bench [-- options]: runs every scenario against every target, each run in fresh
// server and client processes, and writes Markdown, JSON and SVG charts. See ../README.md.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { canPin } from './children.mjs'
import { runsFor, scenarios as allScenarios } from './config.mjs'
import { machine, openFileLimit, versions } from './machine.mjs'
import { profile } from './profile/run.mjs'
import { renderMarkdown } from './report/markdown.mjs'
import { updateReadme } from './report/readme.mjs'
import { runGroup } from './run-one.mjs'
import { buildSwitchboard, snapshotSwitchboard } from './snapshot.mjs'
import { summarize } from './stats.mjs'
import { TARGETS, targetById } from './targets.mjs'

const BENCH = fileURLToPath(new URL('..', import.meta.url))

const HELP = `npm run bench [-- options]
  --quick              small counts, 1 run: under a minute, for development
  --runs=N             runs per scenario and target (default 5; floods, idle and scale 3; quick 1)
  --targets=a,b        only these targets (${TARGETS.map((t) => t.id).join(', ')})
  --scenarios=a,b      only these scenarios (${allScenarios({ quick: false })
    .map((s) => s.id)
    .join(', ')})
  --scale-sessions=N   sessions in the scale scenario (default 10000, quick 200; needs ulimit -n > N + 512, as idle's 10000 does)
  --scale-all          run the scale scenario on the HTTP transports too (default: websocket targets)
  --profile            CPU-profile Switchboard server and client (results/profile.md; --scenarios/--targets pick a subset)
  --no-build           do not run \`turbo run build\` first
  --no-pin             do not pin the server to CPU 0 and the client to CPU 1
  --out=DIR            where to write (default: results/ for a full run, results/tmp/<name>/ otherwise)
  --cluster            across three nodes on redis-server, against Socket.IO's Redis adapter instead (--cluster --help)`

function parseArgs(argv) {
  const o = { quick: false, build: true, pin: true, profile: false, scaleAll: false }
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split('=')
    if (k === 'help' || k === 'h') return (console.log(HELP), process.exit(0))
    else if (k === 'quick') o.quick = true
    else if (k === 'runs') o.runs = Number(v)
    else if (k === 'targets') o.targets = v.split(',').map((id) => targetById(id).id)
    else if (k === 'scenarios') o.scenarios = v.split(',')
    else if (k === 'scale-sessions') o.scaleSessions = Number(v)
    else if (k === 'scale-all') o.scaleAll = true
    else if (k === 'profile') o.profile = true
    else if (k === 'report') o.report = true
    else if (k === 'no-build') o.build = false
    else if (k === 'no-pin') o.pin = false
    else if (k === 'out') o.out = path.resolve(v)
    else throw new Error(`unknown option ${arg}\n${HELP}`)
  }
  return o
}

async function main() {
  const argv = process.argv.slice(2)
  if (argv.includes('--cluster')) return (await import('./cluster/main.mjs')).runCluster(argv.filter((a) => a !== '--cluster'))
  const o = parseArgs(argv)
  if (o.report) {
    // Re-render the committed results (after a change to the report code): no run, no build.
    const out = path.join(BENCH, 'results')
    return writeResults(JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8')), out, 'latest')
  }
  if (o.build) buildSwitchboard()
  const pin = o.pin && canPin()
  // Measure the packages as built now, whatever gets rebuilt in the shared tree during the run.
  const switchboard = snapshotSwitchboard()
  if (o.profile) return profile({ pin, bench: BENCH, switchboard, scenarios: o.scenarios, targets: o.targets })

  const notes = []
  // The idle and scale scenarios hold their sessions' sockets in one server and one client process.
  const maxSessions = Math.max(100, openFileLimit() - 512)
  const scenarios = allScenarios({ quick: o.quick, scaleSessions: o.scaleSessions, scaleAll: o.scaleAll, maxSessions }).filter(
    (s) => !o.scenarios || o.scenarios.includes(s.id),
  )
  const wanted = allScenarios({ quick: o.quick, scaleSessions: o.scaleSessions })
  for (const s of scenarios) {
    const [held, asked] = [s, wanted.find((w) => w.id === s.id)].map((x) => x.params.sessions ?? x.params.many)
    if (held < asked)
      notes.push(`${s.id}: ulimit -n is ${maxSessions + 512}, so ${held} sessions instead of ${asked} (raise it: ulimit -n ${asked + 1024})`)
  }
  const targets = TARGETS.filter((t) => !o.targets || o.targets.includes(t.id))
  const runs = runsFor(o)
  const runsOf = (s) => runsFor(o, s)
  // Full mode: fresh processes for every scenario run, targets interleaved within each run.
  // Quick mode: one server and one client process per target and permessage-deflate setting
  // (the scale scenario's heartbeat setting is merged into the group: development numbers only).
  const plan = []
  if (!o.quick) {
    for (const s of scenarios) for (let r = 1; r <= runsOf(s); r++) for (const t of targets) if (!s.only || s.only(t)) plan.push({ t, r, group: [s] })
  } else {
    for (let r = 1; r <= runs; r++)
      for (const t of targets) {
        const groups = new Map()
        for (const s of scenarios)
          if (!s.only || s.only(t)) groups.set(Boolean(s.server?.deflate), [...(groups.get(Boolean(s.server?.deflate)) ?? []), s])
        for (const group of groups.values()) {
          // Idle memory first, while the server holds no sessions left over from other scenarios.
          group.sort((a, b) => (b.kind === 'idle') - (a.kind === 'idle'))
          const server = Object.assign({}, ...group.map((s) => s.server ?? {}))
          plan.push({ t, r, group: group.map((s) => ({ ...s, server })) })
        }
      }
  }
  const total = plan.reduce((n, p) => n + p.group.length, 0)

  const mode = o.quick ? 'quick' : 'full'
  const partial = Boolean(o.targets || o.scenarios || o.runs || o.scaleSessions || o.scaleAll)
  const out =
    o.out ?? (mode === 'full' && !partial ? path.join(BENCH, 'results') : path.join(BENCH, 'results/tmp', partial ? `${mode}-partial` : mode))
  console.log(
    `${mode} mode: ${total} runs in ${plan.length} server processes (${scenarios.length} scenarios, ${targets.length} targets, ${runs} run(s) each) -> ${path.relative(process.cwd(), out) || '.'}`,
  )

  const started = new Date()
  const t0 = performance.now()
  const atStart = machine()
  const raw = {}
  let k = 0
  for (const { t, r, group } of plan) {
    const results = await runGroup({ target: t, scenarios: group, pin, switchboard })
    for (const [i, s] of group.entries()) {
      const res = results[i]
      ;((raw[s.id] ??= {})[t.id] ??= []).push(res)
      const view = {
        latency: 'roundTripsPerSec',
        burst: 'msgsPerSec',
        flood: 'msgsPerSec',
        fanout: 'deliveriesPerSec',
        idle: 'rssKiBPerSession1k',
        scale: 'connectAllMs',
        churn: 'replayP99Ms',
      }[s.kind]
      const shown = res.metrics?.[view] === undefined ? '' : `${view} ${Math.round(res.metrics[view] * 100) / 100}`
      console.log(
        `[${String(++k).padStart(3)}/${total}] ${s.id.padEnd(10)} ${t.id.padEnd(21)} run ${r}/${runsOf(s)} ${res.ok ? 'ok  ' : 'FAIL'} ${(res.wallMs / 1000).toFixed(1).padStart(5)} s  ${shown}${res.ok ? '' : `  ${res.error}`}`,
      )
    }
  }

  const results = {}
  for (const [sid, byTarget] of Object.entries(raw))
    for (const [tid, list] of Object.entries(byTarget)) (results[sid] ??= {})[tid] = { ...summarize(list), runs: list }
  const doc = {
    mode,
    runs: o.quick || o.runs ? String(runs) : '5 (floods, idle and scale: 3)',
    pinned: pin,
    started: started.toISOString(),
    durationSec: (performance.now() - t0) / 1000,
    machine: atStart,
    versions: versions(),
    notes,
    scenarios: scenarios.map(({ only, ...s }) => s),
    targets,
    results,
  }
  writeResults(doc, out, mode === 'full' && !partial ? 'latest' : 'results')
}

/** Writes NAME.json, NAME.md and the charts for `doc` into `out`; for `latest`, also the README block. */
function writeResults(doc, out, name) {
  const { md, charts, goals } = renderMarkdown(doc)
  fs.mkdirSync(path.join(out, 'charts'), { recursive: true })
  fs.writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify(doc, null, 1)}\n`)
  fs.writeFileSync(path.join(out, `${name}.md`), md)
  for (const c of charts) fs.writeFileSync(path.join(out, c.file), `${c.svg}\n`)
  // A chart this report no longer draws (a scenario or series renamed) would linger beside the new ones.
  const drawn = new Set(charts.map((c) => path.basename(c.file)))
  for (const f of fs.readdirSync(path.join(out, 'charts'))) if (f.endsWith('.svg') && !drawn.has(f)) fs.rmSync(path.join(out, 'charts', f))
  if (
    name === 'latest' &&
    updateReadme(
      path.join(BENCH, 'README.md'),
      doc,
      goals,
      charts.map((c) => c.file),
    )
  )
    console.log('updated the results block of bench/README.md')
  console.log(`\n${md.split('\n## ').slice(0, 3).join('\n## ')}\n`)
  console.log(`wrote ${path.join(out, `${name}.md`)}, ${name}.json and ${charts.length} charts in ${Math.round(doc.durationSec)} s`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e?.stack ?? e)
    process.exit(1)
  },
)
