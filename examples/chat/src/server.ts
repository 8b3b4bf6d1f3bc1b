// `npm start`: the chat on http://127.0.0.1:3000 (PORT and HOST override). With REDIS_URL set, the
// node keeps its rooms in Redis (the Redis adapter), so several of them can serve one chat;
// NODE_NAME names it on the page (default: the host's name).
import { listen, type SwitchboardOptions } from '@switchboard/server'
import type { RedisAdapter } from '@switchboard/server/redis'
import { createChatApp } from './app.js'

/** The Redis adapter when REDIS_URL is set; loaded only then, so the in-memory chat needs no ioredis. */
async function redisAdapter(url: string | undefined): Promise<RedisAdapter | undefined> {
  if (!url) return undefined
  const { createRedisAdapter } = await import('@switchboard/server/redis')
  return createRedisAdapter({ url })
}

const redis = await redisAdapter(process.env.REDIS_URL)
// The adapter says when it loses and regains Redis.
const options: SwitchboardOptions<null> = redis ? { adapter: redis, logger: (e) => e.kind === 'adapter' && console.log(e.message) } : {}
const nodeName = process.env.NODE_NAME || undefined
const { app, sb } = createChatApp({ ...options, nodeName })
// A readiness probe for a load balancer: 503 while the node cannot reach Redis.
if (redis) app.get('/health', (c) => c.json(redis.health(), redis.health().state === 'healthy' ? 200 : 503))
const server = await listen(app, { port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })
// Listening on every interface: print an address a local browser can open.
const url = /^http:\/\/(0\.0\.0\.0|\[::\]):/.test(server.url) ? `http://localhost:${server.port}` : server.url
console.log(
  `Switchboard chat${nodeName ? ` ${nodeName}` : ''} on ${url} (${redis ? `rooms in Redis at ${process.env.REDIS_URL}` : 'rooms in memory'})`,
)

let stopping = false
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1) // a second Ctrl-C: do not wait
  stopping = true
  console.log(`${signal}: closing sessions and the server`)
  await sb.close()
  await server.close()
}
process.on('SIGINT', (signal) => void stop(signal))
process.on('SIGTERM', (signal) => void stop(signal))
