// One Switchboard node of a cross-node run: default options, the Redis adapter on the run's
// redis-server, channels `xnode:*` (clients subscribe and publish; a publish is acked), and
// `sb.publish()` for a server-side publisher. Ready once the adapter has reached Redis.
import { Hono } from 'hono'
import { switchboardModule } from '../../snapshot.mjs'
import { ready, serverOptions } from '../../servers/harness.mjs'
import { sleep } from '../../driver/pool.mjs'
import { publishRequest } from '../messages.mjs'

const { createSwitchboard, listen } = await switchboardModule('server')
// The Redis entry sits beside the server's in the run's snapshot (see ../../snapshot.mjs).
const snapshot = process.env.BENCH_SWITCHBOARD ? JSON.parse(process.env.BENCH_SWITCHBOARD) : null
const { createRedisAdapter } = await import(snapshot ? new URL('redis.js', snapshot.server).href : '@switchboard/server/redis')

const adapter = createRedisAdapter({ url: serverOptions().redisUrl })
const sb = createSwitchboard({ adapter })
sb.channel('xnode:*')

const app = new Hono()
app.route('/rt', sb.app)
const listening = await listen(app, { hostname: '127.0.0.1', port: 0 })
for (let waited = 0; adapter.health().state !== 'healthy'; waited += 20) {
  if (waited > 10_000) throw new Error(`the Redis adapter is ${adapter.health().state}: ${adapter.health().reason ?? ''}`)
  await sleep(20)
}
// A publish that fails shows as deliveries that never come: the run fails with what arrived.
const publish = publishRequest((channel, msg) => void sb.publish(channel, msg).catch(() => {}))
ready(/** @type {import('node:http').Server} */ (listening.server), { sessions: () => sb.sessionCount, requests: { publish } })
