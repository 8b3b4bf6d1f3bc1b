// Switchboard, as an app would use it: an RPC `echo` for round trips, the channel `bench` for
// broadcast (clients subscribe, one publishes; publish is acked). Default options except the
// heartbeat, which the scale scenario sets the same for every target, permessage-deflate, and the
// per-session request rate, which the windowed bursts lift (see config.mjs).
// For the ceiling (src/ceiling): a given port (a restart takes the same one), negotiates counted
// per 100 ms with the event loop's delay (a saturated server answers late), and a `close`
// request: sb.close() with its defaults (the orchestrator then stops the process).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Hono } from 'hono'
import { countNegotiates } from '../ceiling/negotiates.mjs'
import { switchboardModule } from '../snapshot.mjs'
import { ready, serverOptions } from './harness.mjs'

const { createSwitchboard, listen } = await switchboardModule('server')

const o = serverOptions()
const sb = createSwitchboard({
  ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
  // The windowed bursts and the A/B's burst mode lift it (builds from before the limit had none).
  ...(o.requestRatePerSecond ? { requestRatePerSecond: o.requestRatePerSecond, requestBurst: o.requestRatePerSecond } : {}),
  // flood-ab's --server-options: createSwitchboard options for A/Bs of its limits.
  ...JSON.parse(process.env.BENCH_SERVER_OPTIONS ?? '{}'),
})
sb.channel('bench').rpc('echo', (data) => data)

const app = new Hono()
const windows = o.countNegotiates ? countNegotiates(app, '/rt') : () => []
const lag = monitorEventLoopDelay({ resolution: 10 })
if (o.countNegotiates) lag.enable()
const negotiates = () => ({ windows: windows(), lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 })
app.route('/rt', sb.app)
const listenOptions = o.deflate ? { perMessageDeflate: true } : {}
const listening = await listen(app, { hostname: '127.0.0.1', port: o.port ?? 0, ...listenOptions })

/** Ends every session the way an app shuts down: each is told when to come back. */
async function close() {
  await sb.close()
  return { closedUs: Number(process.hrtime.bigint() / 1000n) }
}

ready(/** @type {import('node:http').Server} */ (listening.server), {
  sessions: () => sb.sessionCount,
  requests: { negotiates, close },
})
