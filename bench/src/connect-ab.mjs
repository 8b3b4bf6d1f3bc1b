// A/B of connects between saved builds (see ab.mjs `save`), for changes to what a connect costs:
// the full bench's `scale` runs targets minutes apart, and this VM's speed moves 20-40% between
// them. Here each pair runs every build (and raw ws with --raw) back to back, each with a fresh
// server (the bench's own, CPU 0) and a fresh client process (CPU 1) that opens `sessions`
// WebSocket sessions, `concurrency` handshakes at a time, as `scale` does. Reported: wall ms,
// client and server CPU ms per 1,000 connects, each build's medians and ratios to the first.
//
//   node src/connect-ab.mjs NAME [NAME..] --pairs=6 --sessions=2000 --concurrency=200 [--raw]
//     --client-flags='--cpu-prof --cpu-prof-dir=results/tmp/prof'   node flags for the client processes
//     --server-flags='--cpu-prof --cpu-prof-dir=results/tmp/prof'   and for the servers
import { fileURLToPath } from 'node:url'
import { ask, launch, stop } from './children.mjs'
import { openMany } from './driver/pool.mjs'
import { waitFor } from './run-one.mjs'
import { alternate, option as optionIn, pinnedClient, savedBuild } from './saved-builds.mjs'
import { median } from './stats.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const argv = process.argv.slice(2)
const option = (name, fallback) => optionIn(argv, name, fallback)
const flags = (name) => option(name, '').split(' ').filter(Boolean)

if (argv[0] === 'client') await client(JSON.parse(argv[1]))
else await main(argv.filter((a) => !a.startsWith('--')))

async function main(names) {
  if (names.length === 0) {
    console.error('usage: node src/connect-ab.mjs NAME [NAME..] [--pairs=6 --sessions=2000 --concurrency=200 --raw]')
    process.exit(2)
  }
  const pairs = Number(option('pairs', 6))
  const sessions = Number(option('sessions', 2000))
  const concurrency = Number(option('concurrency', 200))
  const targets = [...names, ...(argv.includes('--raw') ? ['raw'] : [])]
  const runs = await alternate(
    targets,
    pairs,
    (name) => once(name, { sessions, concurrency }),
    (r) => `${Math.round(r.ms)} ms  client ${Math.round(r.clientCpu)}  server ${Math.round(r.serverCpu)} CPU ms per 1,000`,
  )
  const med = (name, key) => median(runs.get(name).map((r) => r[key]))
  console.log(`\n${pairs} pairs, ${sessions} WebSocket sessions ${concurrency} at a time`)
  for (const name of targets) {
    const cells = ['ms', 'clientCpu', 'serverCpu'].map((k) => `${k} ${Math.round(med(name, k))} (${(med(name, k) / med(names[0], k)).toFixed(3)}x)`)
    console.log(`${name.padEnd(10)} ${cells.join('  ')}`)
  }
}

/** One cold run: fresh server and client processes. */
async function once(name, { sessions, concurrency }) {
  const raw = name === 'raw'
  const builds = raw ? {} : savedBuild(name)
  const server = launch(here(raw ? './servers/raw-ws.mjs' : './servers/switchboard.mjs'), {
    env: { BENCH_SWITCHBOARD: JSON.stringify(builds) },
    execArgv: flags('server-flags'),
    cpu: 0,
  })
  try {
    const { port } = await waitFor(server, 'ready', 20_000, `${name} server start`)
    const before = await ask(server, 'stats')
    const spec = { client: builds.client, origin: `http://127.0.0.1:${port}`, sessions, concurrency }
    const r = await pinnedClient(here('./connect-ab.mjs'), spec, flags('client-flags'))
    const after = await ask(server, 'stats')
    const cpu = (s) => (s.cpu.user + s.cpu.system) / 1000
    return { ...r, serverCpu: ((cpu(after) - cpu(before)) / sessions) * 1000 }
  } finally {
    await stop(server)
  }
}

/** The client process: open every session, time it, and exit without closing them (the server goes next). */
async function client({ client: entry, origin, sessions, concurrency }) {
  const open = entry
    ? await import('./clients/switchboard.mjs').then(async (m) => {
        const { connect } = await import(entry)
        return () => m.openWith(connect, origin, { transport: 'websocket', timeoutMs: 30_000 })
      })
    : await import('./clients/raw-ws.mjs').then((m) => () => m.open(origin, { timeoutMs: 30_000 }))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await openMany(open, sessions, concurrency)
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  process.stdout.write(JSON.stringify({ ms, clientCpu: ((cpu.user + cpu.system) / 1000 / sessions) * 1000 }))
  process.exit(0)
}
