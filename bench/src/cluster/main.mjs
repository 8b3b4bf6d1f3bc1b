// npm run bench -- --cluster [options]: Switchboard against Socket.IO across three nodes on one
// redis-server. For each run, scenario and library: the redis-server emptied, three fresh node
// processes, a fresh client process that runs the scenario and reads Redis's command counters
// around it; the libraries interleaved run by run. Writes results/cluster.md and cluster.json.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ask, canPin, launch, post, stop } from '../children.mjs'
import { machine, versionOf, versions } from '../machine.mjs'
import { waitFor } from '../run-one.mjs'
import { buildSwitchboard, snapshotSwitchboard } from '../snapshot.mjs'
import { summarize } from '../stats.mjs'
import { CLUSTER_TARGETS, clusterScenarios, NODES } from './config.mjs'
import { startRedis } from './redis.mjs'
import { clusterMarkdown } from './report.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const BENCH = here('../..')

const HELP = `npm run bench -- --cluster [options]   (needs redis-server: apt-get install -y redis-server)
  --quick          small counts, 1 run, written to results/tmp/cluster-quick/
  --runs=N         runs per scenario and library (default 5)
  --targets=a,b    only these (${CLUSTER_TARGETS.map((t) => t.id).join(', ')})
  --scenarios=a,b  only these (${clusterScenarios(false)
    .map((s) => s.id)
    .join(', ')})
  --no-build       do not run \`turbo run build\` first
  --no-pin         do not pin the nodes and redis-server to CPU 0 and the clients to CPU 1
  --out=DIR        where to write cluster.md and cluster.json (default: results/ for a full run, else results/tmp/cluster*/)`

function parseArgs(argv) {
  const o = { quick: false, build: true, pin: true, partial: false }
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split('=')
    if (k === 'help' || k === 'h') return (console.log(HELP), process.exit(0))
    else if (k === 'quick') o.quick = true
    else if (k === 'runs') o.runs = Number(v)
    else if (k === 'targets') o.targets = v.split(',')
    else if (k === 'scenarios') o.scenarios = v.split(',')
    else if (k === 'no-build') o.build = false
    else if (k === 'no-pin') o.pin = false
    else if (k === 'out') o.out = path.resolve(v)
    else throw new Error(`unknown option ${arg}\n${HELP}`)
    if (['runs', 'targets', 'scenarios'].includes(k)) o.partial = true
  }
  return o
}

/** One run: three fresh nodes of `target` on the emptied Redis, a fresh client process, all stopped after. */
async function runOne({ target, scenario, redis, pin, switchboard }) {
  await redis.flush()
  const env = {
    BENCH_SWITCHBOARD: JSON.stringify(switchboard),
    BENCH_SERVER: JSON.stringify({ redisUrl: redis.url }),
    BENCH_HARD_LIMIT_MS: String(scenario.deadlineMs + 60_000),
  }
  const cpu = (k) => (pin ? k : undefined)
  const nodes = Array.from({ length: NODES }, () => launch(here(`./servers/${target.server}.mjs`), { env, cpu: cpu(0) }))
  let client
  try {
    const ready = await Promise.all(nodes.map((node, k) => waitFor(node, 'ready', 20_000, `${target.id} node ${k + 1} start`)))
    const job = { library: target.library, origins: ready.map((m) => `http://127.0.0.1:${m.port}`), redisUrl: redis.url, scenario }
    client = launch(here('./driver.mjs'), { env: { ...env, BENCH_JOB: JSON.stringify(job) }, cpu: cpu(1) })
    client.on('message', (m) => m?.type === 'request' && answer(client, nodes, m))
    const r = await waitFor(client, 'result', scenario.deadlineMs + 30_000, `${target.id} ${scenario.id}`)
    return { ok: r.ok, metrics: r.metrics, error: r.ok ? undefined : r.error }
  } catch (e) {
    return { ok: false, error: e.message }
  } finally {
    await Promise.all([client, ...nodes].filter(Boolean).map((child) => stop(child)))
  }
}

/** The nodes' CPU and byte counters, summed, as the client's `serverStats()` expects them. */
async function nodeStats(nodes) {
  const all = await Promise.all(nodes.map((node) => ask(node, 'stats')))
  const sum = (pick) => all.reduce((n, s) => n + pick(s), 0)
  return {
    cpu: { user: sum((s) => s.cpu.user), system: sum((s) => s.cpu.system) },
    bytes: { read: sum((s) => s.bytes.read), written: sum((s) => s.bytes.written) },
  }
}

/** Answers the client process: `stats` from every node, anything else (a server-side publish) from node 1. */
async function answer(client, nodes, { id, type, what, ...extra }) {
  try {
    const data = what === 'stats' ? await nodeStats(nodes) : await ask(nodes[0], what, extra)
    post(client, { type: 'reply', id, data })
  } catch (e) {
    post(client, { type: 'reply', id, error: String(e) })
  }
}

const redisVersion = () => /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown'

/** Runs the cross-node scenarios (argv: the options after --cluster) and writes the results. */
export async function runCluster(argv) {
  const o = parseArgs(argv)
  const targets = CLUSTER_TARGETS.filter((t) => !o.targets || o.targets.includes(t.id))
  const scenarios = clusterScenarios(o.quick).filter((s) => !o.scenarios || o.scenarios.includes(s.id))
  if (targets.length === 0 || scenarios.length === 0) throw new Error(`nothing to run\n${HELP}`)
  const runs = o.runs ?? (o.quick ? 1 : 5)
  const full = !o.quick && !o.partial
  const out = o.out ?? path.join(BENCH, full ? 'results' : `results/tmp/cluster${o.quick ? '-quick' : ''}`)
  if (o.build) buildSwitchboard()
  const switchboard = snapshotSwitchboard(path.join(BENCH, 'results/tmp/cluster-snapshot'))
  const pin = o.pin && canPin()
  const redis = await startRedis({ cpu: pin ? 0 : undefined })
  console.log(
    `cross-node: ${runs} run(s) x ${scenarios.length} scenario(s) x ${targets.length} libraries, ${NODES} nodes on redis-server pid ${redis.pid} (${redis.url})`,
  )
  const started = new Date()
  const t0 = performance.now()
  const raw = {}
  try {
    for (let r = 1; r <= runs; r++)
      for (const scenario of scenarios)
        for (const target of targets) {
          const t = performance.now()
          const res = await runOne({ target, scenario, redis, pin, switchboard })
          ;((raw[scenario.id] ??= {})[target.id] ??= []).push(res)
          const shown = res.ok ? Object.entries(res.metrics).find(([k]) => k.endsWith('PerSec')) : null
          console.log(
            `${scenario.id.padEnd(19)} ${target.id.padEnd(7)} run ${r}/${runs} ${res.ok ? 'ok  ' : 'FAIL'} ${((performance.now() - t) / 1000).toFixed(1).padStart(5)} s  ${shown ? `${shown[0]} ${Math.round(shown[1])}` : res.error}`,
          )
        }
  } finally {
    await redis.stop()
  }
  const results = {}
  for (const [sid, byTarget] of Object.entries(raw))
    for (const [tid, list] of Object.entries(byTarget)) (results[sid] ??= {})[tid] = { ...summarize(list), runs: list }
  const doc = {
    runs,
    pinned: pin,
    started: started.toISOString(),
    durationSec: (performance.now() - t0) / 1000,
    machine: machine(),
    versions: {
      ...Object.fromEntries(Object.entries(versions()).filter(([k]) => !/sockjs|faye/.test(k))),
      '@socket.io/redis-adapter': versionOf('@socket.io/redis-adapter'),
      ioredis: versionOf('ioredis'),
      'redis-server': redisVersion(),
    },
    scenarios,
    targets,
    results,
  }
  const md = clusterMarkdown(doc)
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'cluster.json'), `${JSON.stringify(doc, null, 1)}\n`)
  fs.writeFileSync(path.join(out, 'cluster.md'), `${md}\n`)
  console.log(`\n${md}\nwrote ${path.join(out, 'cluster.md')} and cluster.json`)
}
