// A/B of round trips or bursts between builds, for changes worth a few percent: the full bench
// compares libraries run after run, and this VM's speed moves 20% between runs; here the builds
// take turns round by round in the same minute, and each is reported as the median of its
// per-round ratios to the first one. Servers are the bench's own (pinned to CPU 0), the client
// this process (pinned to CPU 1); CPU per round trip is reported for each side.
//
//   node src/ab.mjs save NAME              copy the built packages (build first) to results/tmp/ab/NAME
//   node src/ab.mjs run raw NAME [NAME..]  alternate rounds; `raw` is a bare ws server and client
//     --rounds=60 --n=1000 --warmup=4000 --transport=websocket|sse|long-polling
//     --mode=latency (n sequential round trips a round) | burst (n echoes a round, fired
//     BURST_WINDOW at a time and awaited: builds older than the flow-control work refused more
//     than 1,000 in flight, so every build is measured the way all of them can run)
//     | fanout (--clients=200 subscribers, the first publishes n at once a round, as the full
//     bench's fan-out; every client must get every message once and in order)
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { ask, launch, stop } from './children.mjs'
import { open as openRawWs } from './clients/raw-ws.mjs'
import { openWith as openSwitchboard } from './clients/switchboard.mjs'
import { waitFor } from './run-one.mjs'
import { AB_DIR, option as optionIn, savedBuild } from './saved-builds.mjs'
import { snapshotSwitchboard } from './snapshot.mjs'
import { median, quantile } from './stats.mjs'

/** Echoes in flight at once in burst mode: the full bench's windowed burst of 64 B messages. */
const BURST_WINDOW = 500

/** The next broadcast's number in fanout mode (declared before the top-level await runs). */
let broadcastBase = 0

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const [command, ...rest] = process.argv.slice(2)
const args = rest.filter((a) => !a.startsWith('--'))
const option = (name, fallback) => optionIn(rest, name, fallback)

if (command === 'save' && args.length === 1) {
  snapshotSwitchboard(path.join(AB_DIR, args[0]))
  console.log(`saved the built packages as ${args[0]}`)
} else if (command === 'run' && args.length >= 1) {
  if (!process.env.AB_PINNED) {
    // The client runs on CPU 1, away from the servers on CPU 0.
    const r = spawnSync('taskset', ['-c', '1', process.execPath, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, AB_PINNED: '1' },
    })
    process.exit(r.status ?? 1)
  }
  await run(args, {
    rounds: Number(option('rounds', 60)),
    n: Number(option('n', 1000)),
    warmup: Number(option('warmup', 4000)),
    transport: option('transport', 'websocket'),
    mode: option('mode', 'latency'),
    clients: Number(option('clients', 200)),
  })
  process.exit(0)
} else {
  console.error(
    'usage: node src/ab.mjs save NAME | run raw|NAME [NAME...] [--rounds=60 --n=1000 --warmup=4000 --transport=websocket --mode=latency|burst|fanout --clients=200]',
  )
  process.exit(2)
}

async function start(name, transport, mode, clients) {
  const raw = name === 'raw'
  const snapshot = raw ? null : savedBuild(name)
  const server = launch(here(`./servers/${raw ? 'raw-ws' : 'switchboard'}.mjs`), {
    execArgv: process.env.AB_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AB_SERVER_PROF}/${name}`] : [],
    env: snapshot
      ? {
          BENCH_SWITCHBOARD: JSON.stringify(snapshot),
          // A long burst A/B outruns the per-session request rate (20,000/s, bursts of 200,000),
          // which builds before it did not have: lifted, so every build does the same work.
          ...(mode !== 'latency' ? { BENCH_SERVER: JSON.stringify({ requestRatePerSecond: 1e9 }) } : {}),
        }
      : {},
    cpu: 0,
  })
  const { port } = await waitFor(server, 'ready', 20_000, `${name} server start`)
  const origin = `http://127.0.0.1:${port}`
  let echo
  let echoMany
  const receivers = []
  if (raw) {
    const conn = await openRawWs(origin, { timeoutMs: 10_000 })
    echo = (msg) => new Promise((resolve) => ((conn.onEcho = resolve), conn.echo(msg)))
    echoMany = (msg, count) =>
      new Promise((resolve) => {
        let left = count
        conn.onEcho = () => --left === 0 && resolve()
        for (let i = 0; i < count; i++) conn.echo(msg)
      })
  } else {
    const { connect } = await import(snapshot.client)
    const client = connect(`${origin}/rt`, { WebSocket, transports: [transport], reconnect: false })
    await client.ready()
    echo = (msg) => client.call('echo', msg)
    echoMany = (msg, count) => Promise.all(Array.from({ length: count }, () => client.call('echo', msg)))
  }
  if (mode === 'fanout') {
    const open = raw
      ? (o) => openRawWs(o, { timeoutMs: 10_000 })
      : async (o) => openSwitchboard((await import(snapshot.client)).connect, o, { transport, timeoutMs: 10_000 })
    for (let i = 0; i < clients; i++) receivers.push(await open(origin))
    await Promise.all(receivers.map((c) => c.join()))
  }
  return {
    name,
    server,
    echo,
    echoMany,
    receivers,
    perSec: [],
    samples: [],
    serverUs: { user: 0, system: 0 },
    wire: { read: 0, written: 0 },
    clientUs: { user: 0, system: 0 },
    count: 0,
  }
}

/**
 * One round of `n`: sequential echoes (latency; each timed into `samples`), echoes BURST_WINDOW
 * at a time (burst), or broadcasts to every receiver (fanout; `n` times the receivers count).
 */
async function round(t, payload, n, mode) {
  if (mode === 'fanout') return fanoutRound(t.receivers, payload, n)
  if (mode === 'burst') {
    for (let sent = 0; sent < n; sent += BURST_WINDOW) await t.echoMany(payload, Math.min(BURST_WINDOW, n - sent))
    return
  }
  for (let i = 0; i < n; i++) {
    const a = performance.now()
    payload.i = i
    await t.echo(payload)
    t.samples.push(performance.now() - a)
  }
}

/** `n` broadcasts from the first receiver, at once; resolves when every receiver has each, in order. */
function fanoutRound(receivers, payload, n) {
  const base = broadcastBase
  broadcastBase += n
  return new Promise((resolve, reject) => {
    let left = receivers.length
    for (const c of receivers) {
      let next = base
      c.onBroadcast = (m) => {
        if (m.i !== next++) reject(new Error(`broadcast ${m.i} arrived where ${next - 1} was due`))
        if (next === base + n && --left === 0) resolve()
      }
      c.onError = c.onClose = (e) => reject(new Error(`a receiver failed: ${e?.message ?? e}`))
    }
    for (let k = 0; k < n; k++) receivers[0].broadcast({ i: base + k, d: payload.d })
  })
}

async function run(names, { rounds, n, warmup, transport, mode, clients }) {
  const targets = []
  for (const name of names) targets.push(await start(name, transport, mode, clients))
  const payload = { i: 0, d: 'x'.repeat(40) }
  for (const t of targets) {
    if (mode === 'fanout') for (let i = 0; i < warmup; i += n) await round(t, payload, n, mode)
    else for (let i = 0; i < warmup; i++) await t.echo(payload)
  }
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const s0 = await ask(t.server, 'stats')
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      await round(t, payload, n, mode)
      const units = mode === 'fanout' ? n * t.receivers.length : n
      t.perSec.push(units / ((performance.now() - t0) / 1000))
      const c = process.cpuUsage(c0)
      const s1 = await ask(t.server, 'stats')
      t.clientUs.user += c.user
      t.clientUs.system += c.system
      t.serverUs.user += s1.cpu.user - s0.cpu.user
      t.serverUs.system += s1.cpu.system - s0.cpu.system
      t.wire.read += s1.bytes.read - s0.bytes.read
      t.wire.written += s1.bytes.written - s0.bytes.written
      t.count += mode === 'fanout' ? n * t.receivers.length : n
    }
  }
  const base = targets[0]
  const what = {
    latency: 'sequential round trips',
    burst: `echoes, ${BURST_WINDOW} in flight at a time`,
    fanout: `broadcasts at once to ${clients} subscribers`,
  }[mode]
  console.log(`${rounds} alternated rounds of ${n} ${what} (${transport}), after ${warmup} each`)
  for (const t of targets) {
    const paired = median(t.perSec.map((x, i) => x / base.perSec[i]))
    const us = (v) => (v / t.count).toFixed(mode === 'fanout' ? 2 : 1)
    console.log(
      `${t.name.padEnd(12)} ${Math.round(median(t.perSec)).toLocaleString('en-US').padStart(7)} ${{ latency: 'rt/s', burst: 'echoes/s', fanout: 'deliveries/s' }[mode]}` +
        ` (${Math.round(Math.min(...t.perSec))}-${Math.round(Math.max(...t.perSec))})  ${paired.toFixed(3)}x ${base.name}` +
        (t.samples.length ? `  p50 ${(quantile(t.samples, 0.5) * 1000).toFixed(0)} us p99 ${(quantile(t.samples, 0.99) * 1000).toFixed(0)} us` : '') +
        `  CPU/${mode === 'fanout' ? 'delivery' : 'rt'} server ${us(t.serverUs.user)}+${us(t.serverUs.system)} us, client ${us(t.clientUs.user)}+${us(t.clientUs.system)} us (user+sys)` +
        `, server bytes in/out ${(t.wire.read / t.count).toFixed(0)}/${(t.wire.written / t.count).toFixed(0)}`,
    )
  }
  for (const t of targets) for (const c of t.receivers) c.close()
  await Promise.all(targets.map((t) => stop(t.server)))
}
