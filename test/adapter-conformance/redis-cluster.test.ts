import { randomUUID } from 'node:crypto'
import { createRedisAdapter } from '@switchboard/server/redis'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js'
import { describeAdapterConformance } from './suite.js'

/**
 * The Redis adapter on a Redis Cluster of three masters: keys by hash tag, deliveries through
 * sharded pub/sub (SSUBSCRIBE/SPUBLISH), each channel on the shard that holds its slot.
 */
let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startRedisCluster(3)
}, 30_000)
afterAll(async () => {
  await cluster?.stop()
})

/** Runs `command` on every master, each answer in the order of `cluster.nodes`. */
function onEveryMaster<T>(command: (node: Redis) => Promise<T>): Promise<T[]> {
  return Promise.all(
    cluster.nodes.map(async ({ host, port }) => {
      const node = new Redis({ host, port })
      try {
        return await command(node)
      } finally {
        node.disconnect()
      }
    }),
  )
}

// A template the adapter duplicates with its own settings; lazyConnect keeps the template itself idle.
const template = () => new Cluster(cluster.nodes, { lazyConnect: true })

describeAdapterConformance('the Redis adapter on a Redis Cluster', {
  create: ({ idempotencyWindowMs }) => createRedisAdapter({ client: template() }, { idempotencyWindowMs }),
  loseHistory: async (adapter) => {
    await onEveryMaster((node) => node.flushall())
    return adapter
  },
  filtersByInterest: true,
  sharesBackend: true,
})

describe('the Redis adapter on a Redis Cluster', () => {
  it('subscribes through sharded pub/sub, on the one shard that holds the channel’s slot', async () => {
    const received: number[] = []
    const adapter = createRedisAdapter({ client: template() })
    await adapter.start({ onMessage: (_channel, offset) => received.push(offset) })
    try {
      const channel = `room:${randomUUID()}`
      await adapter.subscribe(channel)
      const sharded = await onEveryMaster((node) => node.pubsub('SHARDCHANNELS', 'sb:{ch:*') as Promise<string[]>)
      const plain = await onEveryMaster((node) => node.pubsub('CHANNELS') as Promise<string[]>)
      expect(sharded.flat()).toEqual([`sb:{ch:${channel}}`])
      expect(plain.flat()).toEqual([])
      expect(await adapter.publish(channel, '1', 0)).toBe(1)
      await vi.waitFor(() => expect(received).toEqual([1]))
    } finally {
      await adapter.close()
    }
  })
})
