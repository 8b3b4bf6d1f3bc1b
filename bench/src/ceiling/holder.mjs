// One client process of the ceiling (see main.mjs): holds `count` idle Switchboard sessions over
// WebSocket, each socket bound to this process's own source address (127.0.0.x), so the clients
// of all processes together are not bounded by one address's ephemeral ports. Client options are
// the defaults otherwise (reconnect on), as an app's are.
//
// IPC: { type: 'open', origin } -> { type: 'opened', ms } or { type: 'failed', error };
// 'close' -> 'closed' (every client closed); 'watch' (a restart is coming) -> { type: 'watching',
// notOpen }, then { type: 'progress', backUs, gaveUp, backoffs, cpuUs, lagMs, done } every half second
// until every client has a new session or has given up (`done`).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { WebSocket } from 'ws'
import { withTimeout } from '../clients/conn.mjs'
import { monoUs, now, openMany } from '../driver/pool.mjs'
import { switchboardModule } from '../snapshot.mjs'

const { connect } = await switchboardModule('client')

/** @type {{ count: number, localAddress: string, concurrency: number, openTimeoutMs: number }} */
const job = JSON.parse(process.env.BENCH_HOLDER ?? 'null')

/** `ws` bound to this process's source address: the WebSocket class the client is given. */
class BoundWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { localAddress: job.localAddress })
  }
}

let clients = []

async function openAll(origin) {
  const t0 = now()
  clients = await openMany(
    async () => {
      const client = connect(`${origin}/rt`, { WebSocket: BoundWebSocket, transports: ['websocket'] })
      await withTimeout(client.ready(), job.openTimeoutMs, 'switchboard websocket open')
      return client
    },
    job.count,
    job.concurrency,
  )
  return now() - t0
}

/**
 * Each client's return after the restart: when it opened a new session or gave up, and why it
 * waited. Sent as it comes, every half second: a client process saturated by the returns still
 * delivers what it has seen, and the orchestrator can stop waiting at its deadline.
 */
function watchRestart() {
  const before = clients.map((c) => c.sessionId)
  const cpu0 = process.cpuUsage()
  // How late this process ran its callbacks: a saturated client process times its own attempts out.
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  let backUs = []
  let back = 0
  let gaveUp = 0
  const backoffs = {}
  const send = () => {
    const cpu = process.cpuUsage(cpu0)
    const done = back + gaveUp === clients.length
    const lagMs = { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 }
    process.send?.({ type: 'progress', backUs, gaveUp, backoffs, cpuUs: cpu.user + cpu.system, lagMs, done })
    backUs = []
    if (done) clearInterval(timer)
  }
  const timer = setInterval(send, 500)
  clients.forEach((client, k) => {
    const off = client.on('state', ({ to, reason }) => {
      // Reasons name their own figures ("nothing received for 4032 ms"): counted without them.
      const why = reason.replace(/\d+/g, 'N')
      if (to === 'backoff') return void (backoffs[why] = (backoffs[why] ?? 0) + 1)
      if (to === 'closed') gaveUp++
      else if (to === 'open' && client.sessionId !== before[k]) {
        backUs.push(monoUs())
        back++
      } else return
      off()
    })
  })
}

process.on('message', async (m) => {
  if (m?.type === 'open') {
    try {
      process.send?.({ type: 'opened', ms: await openAll(m.origin) })
    } catch (e) {
      process.send?.({ type: 'failed', error: String(e?.message ?? e) })
    }
  } else if (m?.type === 'close') {
    for (const c of clients) c.close()
    clients = []
    process.send?.({ type: 'closed' })
  } else if (m?.type === 'watch') {
    watchRestart()
    process.send?.({ type: 'watching', notOpen: clients.filter((c) => c.state !== 'open').length })
  } else if (m?.type === 'stop') process.exit(0)
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
