import { createRedisAdapter } from '@switchboard/server/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { describeAdapterConformance } from './suite.js'

/** The Redis adapter against a real redis-server, every adapter a node of the same cluster. */
let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describeAdapterConformance('the Redis adapter', {
  create: ({ idempotencyWindowMs }) => createRedisAdapter({ url: redis.url }, { idempotencyWindowMs }),
  // Every key gone, as after a restart without persistence; the adapter carries on.
  loseHistory: async (adapter) => {
    const client = new Redis(redis.url)
    await client.flushall()
    client.disconnect()
    return adapter
  },
  filtersByInterest: true,
  sharesBackend: true,
})
