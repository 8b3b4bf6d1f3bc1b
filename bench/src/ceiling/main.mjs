// npm run bench:ceiling [-- options]: how many idle WebSocket sessions one Switchboard server
// process holds here, what each costs (RSS and heap, heartbeat CPU), a projection to 100,000 and
// 1,000,000 sessions per node, then a restart under that load: sb.close() with its defaults,
// process exit, a new process on the same port, and the time until every session is back with
// the negotiate rate the new server took. Not part of `npm run bench`. See ../../README.md.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ask, canPin, launch, post, stop } from '../children.mjs'
import { monoUs, sleep } from '../driver/pool.mjs'
import { machine, openFileLimit, versions } from '../machine.mjs'
import { emptyStats, perSession, settledStats, slackOf } from '../memory.mjs'
import { waitFor } from '../run-one.mjs'
import { buildSwitchboard, snapshotSwitchboard } from '../snapshot.mjs'
import { ceilingMarkdown, project, restartFigures } from './report.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const BENCH = here('../..')

const HELP = `npm run bench:ceiling [-- options]   (run \`ulimit -n 20000\` first)
  --sessions=N       idle WebSocket sessions to hold (default 19500; the server needs ulimit -n above N + 300)
  --clients=K        client processes, each binding its sockets to its own source address 127.0.0.2, .3, ... (default 4)
  --heartbeat-ms=N   the server's heartbeatMs for the CPU window (default 2000; scaled to the default 25000)
  --window-ms=N      idle window over which heartbeat CPU is measured (default 10000)
  --no-build         do not run \`turbo run build\` first
  --no-pin           do not pin the server to CPU 0 and the clients to CPU 1
  --out=DIR          where to write ceiling.md and ceiling.json (default: results/ for the default run, else results/tmp/ceiling/)`

function parseArgs(argv) {
  const o = { sessions: 19_500, clients: 4, heartbeatMs: 2_000, windowMs: 10_000, build: true, pin: true, changed: false }
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split('=')
    if (k === 'help' || k === 'h') return (console.log(HELP), process.exit(0))
    else if (k === 'sessions') o.sessions = Number(v)
    else if (k === 'clients') o.clients = Number(v)
    else if (k === 'heartbeat-ms') o.heartbeatMs = Number(v)
    else if (k === 'window-ms') o.windowMs = Number(v)
    else if (k === 'no-build') o.build = false
    else if (k === 'no-pin') o.pin = false
    else if (k === 'out') o.out = path.resolve(v)
    else throw new Error(`unknown option ${arg}\n${HELP}`)
    if (!['no-build', 'no-pin', 'out'].includes(k)) o.changed = true
  }
  return o
}

const log = (line) => console.log(`[ceiling] ${line}`)

/**
 * The clients' returns after the restart, as each client process reports them, until all are
 * done or `ms` has passed: per process `{ backUs, gaveUp, backoffs, cpuUs, done }`.
 */
function returns(holders, ms) {
  const seen = holders.map(() => ({ backUs: [], gaveUp: 0, backoffs: {}, cpuUs: 0, done: false }))
  const onProgress = (k) => (m) => {
    if (m?.type !== 'progress') return
    seen[k] = { ...m, backUs: seen[k].backUs.concat(m.backUs) }
    if (seen.every((x) => x.done)) finish()
  }
  const listeners = holders.map((_, k) => onProgress(k))
  let finish
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(), ms)
    finish = () => {
      clearTimeout(timer)
      for (const [k, h] of holders.entries()) h.off('message', listeners[k])
      resolve(seen)
    }
    for (const [k, h] of holders.entries()) h.on('message', listeners[k])
  })
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  // The server holds one socket per session, plus its own files and the negotiates' keep-alive sockets.
  const limit = openFileLimit()
  if (o.sessions + 300 > limit)
    throw new Error(
      `ulimit -n is ${limit}: ${o.sessions} sessions need more than ${o.sessions + 300} open files in the server process (ulimit -n 20000 first, or fewer --sessions)`,
    )
  if (o.build) buildSwitchboard()
  const switchboard = snapshotSwitchboard(path.join(BENCH, 'results/tmp/ceiling-snapshot'))
  const pin = o.pin && canPin()
  const env = { BENCH_SWITCHBOARD: JSON.stringify(switchboard), BENCH_HARD_LIMIT_MS: String(30 * 60_000) }
  const startServer = async (options) => {
    const server = launch(here('../servers/switchboard.mjs'), {
      execArgv: ['--expose-gc'],
      env: { ...env, BENCH_SERVER: JSON.stringify({ countNegotiates: true, ...options }) },
      cpu: pin ? 0 : undefined,
    })
    const { port } = await waitFor(server, 'ready', 20_000, 'server start')
    return { server, port }
  }
  const started = new Date()
  const statsOf = (child) => (options) => ask(child, 'stats', options)

  // Clients: K processes, sessions split evenly, each from its own source address.
  const holders = Array.from({ length: o.clients }, (_, k) => {
    const job = {
      count: Math.floor(o.sessions / o.clients) + (k < o.sessions % o.clients ? 1 : 0),
      localAddress: `127.0.0.${2 + k}`,
      concurrency: 50,
      openTimeoutMs: 30_000,
    }
    return launch(here('./holder.mjs'), { env: { ...env, BENCH_HOLDER: JSON.stringify(job) }, cpu: pin ? 1 : undefined })
  })
  await Promise.all(holders.map((h) => waitFor(h, 'ready', 20_000, 'client process start')))
  const all = (msg, answer, ms) => Promise.all(holders.map((h) => (post(h, msg), waitFor(h, answer, ms, `${msg.type} in every client process`))))
  const openAll = async (port) => {
    log(`opening ${o.sessions.toLocaleString('en-US')} sessions from ${o.clients} client processes (127.0.0.2-${1 + o.clients})`)
    const t0 = performance.now()
    const opened = await all({ type: 'open', origin: `http://127.0.0.1:${port}` }, ['opened', 'failed'], 300_000)
    const failed = opened.find((m) => m.type === 'failed')
    if (failed) throw new Error(`a client process could not open its sessions: ${failed.error}`)
    return performance.now() - t0
  }

  // 1. Heartbeat CPU: a server with a short heartbeat holds every session through an idle window.
  // Its own phase: a 2 s heartbeat would also shorten the clients' liveness deadline during the restart.
  const beating = await startServer({ heartbeatMs: o.heartbeatMs })
  const beatingEmpty = await emptyStats(statsOf(beating.server), 1_000)
  await openAll(beating.port)
  await settledStats(statsOf(beating.server), 1_000, slackOf(beatingEmpty), 30_000)
  const c0 = await ask(beating.server, 'stats')
  await sleep(o.windowMs)
  const c1 = await ask(beating.server, 'stats')
  const cpuPct = ((c1.cpu.user + c1.cpu.system - c0.cpu.user - c0.cpu.system) / 1000 / o.windowMs) * 100
  log(`heartbeat window: ${cpuPct.toFixed(1)}% server CPU at heartbeatMs ${o.heartbeatMs} with ${c1.sessions} sessions`)
  await all({ type: 'close' }, 'closed', 60_000)
  await stop(beating.server)

  // 2. Memory, with the defaults an app runs: empty server, then every session, each settled.
  const { server, port } = await startServer({})
  const empty = await emptyStats(statsOf(server), 1_000)
  const connectMs = await openAll(port)
  log(`all open in ${(connectMs / 1000).toFixed(1)} s; waiting for the server's heap to settle`)
  const held = await settledStats(statsOf(server), 1_000, slackOf(empty), 30_000)
  if (held.sessions !== o.sessions) throw new Error(`the server counts ${held.sessions} sessions, expected ${o.sessions}`)

  // 3. Restart: every client watches for its return; the server closes, exits, and a new one starts.
  const watching = await all({ type: 'watch' }, 'watching', 10_000)
  log('restart: sb.close() with its defaults, process exit, a new process on the same port')
  const closeUs = monoUs()
  const closed = await ask(server, 'close', {}, 120_000)
  const old = await ask(server, 'negotiates')
  await stop(server)
  const exitedUs = monoUs()
  const next = await startServer({ port })
  const listeningUs = monoUs()
  // Every return is due within sb.close()'s spread (1 ms per session); retries get as long again, and a minute.
  const backs = await returns(holders, 60_000 + o.sessions * 4)
  const endUs = monoUs()
  const after = await ask(next.server, 'stats')
  const { windows, lagP99Ms, lagMaxMs } = await ask(next.server, 'negotiates')
  await Promise.all([stop(next.server), ...holders.map((h) => stop(h))])

  const restart = restartFigures({
    closeUs,
    closedUs: closed.closedUs,
    exitedUs,
    listeningUs,
    oldWindows: old.windows,
    windows,
    backs,
    sessions: o.sessions,
  })
  const doc = {
    started: started.toISOString(),
    machine: machine(),
    versions: versions(),
    pinned: pin,
    options: { sessions: o.sessions, clients: o.clients, heartbeatMs: o.heartbeatMs, windowMs: o.windowMs, openFileLimit: limit },
    connect: { ms: connectMs, perSec: o.sessions / (connectMs / 1000) },
    memory: {
      emptyRssMiB: empty.rss / 1048576,
      emptyHeapMiB: empty.heapUsed / 1048576,
      rssMiB: held.rss / 1048576,
      heapMiB: held.heapUsed / 1048576,
      settledMs: held.settledMs,
      ...perSession(held, empty, o.sessions),
    },
    heartbeat: { cpuPct, heartbeatMs: o.heartbeatMs },
    restart: {
      ...restart,
      notOpenBefore: watching.reduce((k, m) => k + m.notOpen, 0),
      sessionsAfter: after.sessions,
      // CPU over the restart, in % of one core: the new server since it listened, all client processes since close().
      serverCpuPct: ((after.cpu.user + after.cpu.system) / (endUs - listeningUs)) * 100,
      clientCpuPct: (backs.reduce((k, b) => k + b.cpuUs, 0) / (endUs - closeUs)) * 100,
      // How late each side ran its callbacks over the restart: the new server, and the worst client process.
      serverLagMs: { p99: lagP99Ms, max: lagMaxMs },
      clientLagMs: { p99: Math.max(...backs.map((b) => b.lagMs?.p99 ?? 0)), max: Math.max(...backs.map((b) => b.lagMs?.max ?? 0)) },
    },
  }
  doc.projection = project(doc)
  const out = o.out ?? path.join(BENCH, o.changed ? 'results/tmp/ceiling' : 'results')
  const md = ceilingMarkdown(doc)
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'ceiling.json'), `${JSON.stringify(doc, null, 1)}\n`)
  fs.writeFileSync(path.join(out, 'ceiling.md'), md)
  console.log(`\n${md}`)
  log(`wrote ${path.join(out, 'ceiling.md')} and ceiling.json`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e?.stack ?? e)
    process.exit(1)
  },
)
