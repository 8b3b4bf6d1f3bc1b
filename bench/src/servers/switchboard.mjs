// Switchboard, as an app would use it: an RPC `echo` for round trips, the channel `bench` for
// broadcast (clients subscribe, one publishes; publish is acked). Default options except the
// heartbeat, which the scale scenario sets the same for every target, and permessage-deflate.
import { Hono } from 'hono'
import { switchboardModule } from '../snapshot.mjs'
import { ready, serverOptions } from './harness.mjs'

const { createSwitchboard, listen } = await switchboardModule('server')

const o = serverOptions()
const sb = createSwitchboard({
  ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
})
sb.channel('bench').rpc('echo', (data) => data)

const app = new Hono()
app.route('/rt', sb.app)
const listenOptions = o.deflate ? { perMessageDeflate: true } : {}
const listening = await listen(app, { hostname: '127.0.0.1', ...listenOptions })
ready(/** @type {import('node:http').Server} */ (listening.server), { sessions: () => sb.sessionCount })
