// A/B of cold no-window floods between saved builds (see ab.mjs `save`): for each pair, each
// build gets a fresh server (the bench's own, CPU 0) and a fresh client process (CPU 1) that
// fires `count` calls in a plain loop, nothing awaited, then waits for every echo. The builds
// take turns pair after pair, so a slow minute of this VM hits both. Reported: msgs/s of each
// run, each build's median and its ratio to the first build's.
//
//   node src/flood-ab.mjs NAME [NAME..] --pairs=6 --size=64 --count=50000 --transport=websocket
//     --client-flags='--max-semi-space-size=64'   node flags for the client processes (GC studies)
//     --server-flags='--cpu-prof --cpu-prof-dir=results/tmp/prof'   and for the servers
//     --server-options='{"replayBufferBytes":67108864}'   options for createSwitchboard()
//     --client-options='{"maxOutboxFrames":4000}'   options for connect(), beside the bench's own;
//     NAME='{"maxOutboxFrames":4000}' gives them to one build alone
import { fileURLToPath } from 'node:url'
import { launch, stop } from './children.mjs'
import { makeData, shapeOf } from './driver/payload.mjs'
import { waitFor } from './run-one.mjs'
import { alternate, option as optionIn, pinnedClient, savedBuild } from './saved-builds.mjs'
import { median } from './stats.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const argv = process.argv.slice(2)
const option = (name, fallback) => optionIn(argv, name, fallback)

if (argv[0] === 'client') await client(JSON.parse(argv[1]))
else await main(argv.filter((a) => !a.startsWith('--')))

async function main(names) {
  if (names.length === 0) {
    console.error('usage: node src/flood-ab.mjs NAME [NAME..] [--pairs=6 --size=64 --count=50000 --transport=websocket]')
    process.exit(2)
  }
  const pairs = Number(option('pairs', 6))
  const size = Number(option('size', 64))
  const count = Number(option('count', 50_000))
  const transport = option('transport', 'websocket')
  const rates = await alternate(
    names,
    pairs,
    (name) => once(name, { size, count, transport }),
    (rate) => `${Math.round(rate).toLocaleString('en-US')} msgs/s`,
  )
  const base = median(rates.get(names[0]))
  console.log(`\n${pairs} pairs of cold floods, ${count} x ${size} B calls (${transport}), no window`)
  for (const name of names) {
    const m = median(rates.get(name))
    console.log(`${name.padEnd(10)} median ${Math.round(m).toLocaleString('en-US')} msgs/s  ${(m / base).toFixed(3)}x ${names[0]}`)
  }
}

/** One cold run of `name`: fresh server and client processes; resolves with the client's msgs/s. */
async function once(target, { size, count, transport }) {
  // NAME, or NAME=JSON: that build with those connect() options over --client-options.
  const [name, own] = target.includes('=') ? [target.slice(0, target.indexOf('=')), JSON.parse(target.slice(target.indexOf('=') + 1))] : [target, {}]
  const build = savedBuild(name)
  const server = launch(here('./servers/switchboard.mjs'), {
    execArgv: option('server-flags', '').split(' ').filter(Boolean),
    // The server's defaults, as an app has them: a flood of up to 200,000 fits the default
    // per-session request burst, so the rate limit paces none of it.
    env: { BENCH_SWITCHBOARD: JSON.stringify(build), BENCH_SERVER_OPTIONS: option('server-options', '{}') },
    cpu: 0,
  })
  try {
    const { port } = await waitFor(server, 'ready', 20_000, `${name} server start`)
    const options = { ...JSON.parse(option('client-options', '{}')), ...own }
    const spec = { client: build.client, origin: `http://127.0.0.1:${port}`, size, count, transport, options }
    const flags = option('client-flags', '').split(' ').filter(Boolean)
    return (await pinnedClient(here('./flood-ab.mjs'), spec, flags)).msgsPerSec
  } finally {
    await stop(server)
  }
}

/** The client process: connect, fire every call in a loop, wait for every echo, check each (once, and its shape, as the bench's driver does). */
async function client({ client: entry, origin, size, count, transport, options }) {
  const { WebSocket } = await import('ws')
  const { connect } = await import(entry)
  const c = connect(`${origin}/rt`, { ...options, WebSocket, transports: [transport], reconnect: false })
  await c.ready()
  const d = makeData(size)
  const shape = shapeOf(d)
  const seen = new Uint8Array(count)
  let got = 0
  const t0 = performance.now()
  await new Promise((resolve, reject) => {
    const onEcho = (m) => {
      if (seen[m.i] || shapeOf(m.d) !== shape) return reject(new Error(`echo ${m.i} repeated or corrupt`))
      seen[m.i] = 1
      if (++got === count) resolve()
    }
    for (let i = 0; i < count; i++) c.call('echo', { i, d }).then(onEcho, reject)
    if (process.env.FLOOD_LOOP) process.stderr.write(`loop ${Math.round(performance.now() - t0)} ms\n`)
  })
  const ms = performance.now() - t0
  c.close()
  process.stdout.write(JSON.stringify({ msgsPerSec: (count / ms) * 1000 }))
  process.exit(0)
}
