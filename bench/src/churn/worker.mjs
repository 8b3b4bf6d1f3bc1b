// One client process of the churn scenario (see scenario.mjs): holds `count` clients of one
// library, each behind a line of its own (line.mjs) that it cuts every `cutEveryMs` and keeps
// down for `offlineMs` (both uniform at random), and records what each client receives.
//
// IPC, in order: -> 'ready'; 'open' -> 'opened' | 'failed'; 'cut' (cutting starts, and counting
// TCP connects); 'calm' -> 'calmed' (cutting stops, every line restored); { type: 'missing',
// published } -> { type: 'missing', missing } (repeated while draining); 'report' -> { type:
// 'report', ... } (raw samples: the scenario merges every process's before taking percentiles).
import dc from 'node:diagnostics_channel'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { openMany, sleep } from '../driver/pool.mjs'
import { CHURN_CLIENTS } from './clients.mjs'
import { openLine } from './line.mjs'

/**
 * @type {{ origin: string, client: string, transport: string, count: number, host: string,
 *   localAddress: string, messages: number, cutEveryMs: [number, number], offlineMs: [number, number],
 *   openTimeoutMs: number, concurrency: number }}
 */
const job = JSON.parse(process.env.BENCH_CHURN ?? 'null')
const wall = () => performance.timeOrigin + performance.now()
const between = ([min, max]) => min + Math.random() * (max - min)
/** A cut waits this long at most for its client to be back from the previous one (then cuts anyway). */
const MAX_CUT_DELAY_MS = 30_000

// Every TCP connect the clients make (the lines' own upstream connects excepted) and the refused ones.
let counting = false
let upstream = false
const tcp = { connects: 0, refused: 0 }
dc.subscribe('net.client.socket', ({ socket }) => {
  if (upstream || !counting) return
  tcp.connects++
  socket.once('error', (e) => e?.code === 'ECONNREFUSED' && tcp.refused++)
})

const lag = monitorEventLoopDelay({ resolution: 10 })
/** @type {ReturnType<typeof churned>[]} */
let clients = []
let calm = false

/** One client, its line, what it received and its outages `{ cutAt, upAt, backAt }` (wall ms). */
function churned(line) {
  const seen = new Uint8Array(job.messages)
  const outages = []
  const c = { line, conn: null, seen, received: 0, duplicates: 0, replayMs: [], outages, down: false }
  c.onMessage = (msg) => {
    const at = wall()
    if (seen[msg.i]) return void c.duplicates++
    seen[msg.i] = 1
    c.received++
    // Published while this client's line was down: how long it took to reach it.
    for (let k = outages.length - 1; k >= 0; k--) {
      const o = outages[k]
      if (msg.t >= o.cutAt) {
        if (msg.t < (o.upAt ?? Number.POSITIVE_INFINITY)) c.replayMs.push(at - msg.t)
        break
      }
    }
  }
  c.onBack = () => {
    const last = outages.at(-1)
    if (last?.upAt !== undefined && last.backAt === undefined) last.backAt = wall()
  }
  return c
}

/** Cuts `c`'s line every `cutEveryMs` (after it is back from the last cut), for `offlineMs` each. */
async function churn(c) {
  let next = wall() + between(job.cutEveryMs)
  while (!calm) {
    await sleep(Math.max(0, next - wall()))
    const last = c.outages.at(-1)
    const waitUntil = wall() + MAX_CUT_DELAY_MS
    while (!calm && last && last.backAt === undefined && wall() < waitUntil) await sleep(50)
    if (calm) return
    const cutAt = wall()
    next = cutAt + between(job.cutEveryMs)
    const outage = { cutAt }
    c.outages.push(outage)
    c.down = true
    c.line.cut()
    await sleep(between(job.offlineMs))
    await restore(c, outage)
  }
}

async function restore(c, outage) {
  if (!c.down) return
  c.down = false
  await c.line.restore()
  outage.upAt = wall()
}

async function openAll() {
  const target = new URL(job.origin)
  const open = CHURN_CLIENTS[job.client]
  clients = await openMany(
    async () => {
      const line = await openLine({
        host: job.host,
        target: { host: target.hostname, port: Number(target.port) },
        localAddress: job.localAddress,
        opening: (on) => (upstream = on),
      })
      const c = churned(line)
      c.conn = await open(line.url, { transport: job.transport, timeoutMs: job.openTimeoutMs }, c)
      return c
    },
    job.count,
    job.concurrency,
  )
}

function report() {
  const waitsMs = []
  let cuts = 0
  let notBack = 0
  for (const c of clients)
    for (const o of c.outages) {
      cuts++
      if (o.backAt === undefined) notBack++
      else waitsMs.push(o.backAt - o.upAt)
    }
  return {
    type: 'report',
    clients: clients.length,
    received: clients.reduce((n, c) => n + c.received, 0),
    duplicates: clients.reduce((n, c) => n + c.duplicates, 0),
    replayMs: clients.flatMap((c) => c.replayMs),
    waitsMs,
    cuts,
    notBack,
    ...tcp,
    relistenRetries: clients.reduce((n, c) => n + c.line.relistenRetries, 0),
    lagMs: { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
  }
}

process.on('message', async (m) => {
  if (m?.type === 'open') {
    try {
      await openAll()
      process.send?.({ type: 'opened' })
    } catch (e) {
      process.send?.({ type: 'failed', error: String(e?.message ?? e) })
    }
  } else if (m?.type === 'cut') {
    counting = true
    lag.enable()
    for (const c of clients) void churn(c)
  } else if (m?.type === 'calm') {
    calm = true
    await Promise.all(clients.map((c) => c.outages.length && restore(c, c.outages.at(-1))))
    process.send?.({ type: 'calmed' })
  } else if (m?.type === 'missing') {
    let missing = 0
    for (const c of clients) for (let i = 0; i < m.published; i++) missing += 1 - c.seen[i]
    process.send?.({ type: 'missing', missing })
  } else if (m?.type === 'report') {
    lag.disable()
    process.send?.(report())
  } else if (m?.type === 'stop') process.exit(0)
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
