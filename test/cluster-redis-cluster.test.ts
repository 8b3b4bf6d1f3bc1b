import { randomUUID } from 'node:crypto'
import type { SwitchboardClient } from '@switchboard/client'
import { createRedisAdapter } from '@switchboard/server/redis'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { startNginx, type Nginx } from './helpers/nginx.js'
import { startRedisCluster, type RedisCluster } from './helpers/redis.js'

/**
 * The fan-out of the round-robin tests on a Redis Cluster of three masters: three nodes behind
 * nginx round robin, each channel on the shard that holds its slot (sharded pub/sub), clients on
 * every transport; every message reaches every subscriber once, in order, whichever node
 * published it, and sessions are forwarded and moved as on one Redis.
 */
let redis: RedisCluster
let nodes: TestServer[] = []
let nginx: Nginx
const clients: SwitchboardClient[] = []

beforeAll(async () => {
  redis = await startRedisCluster(3)
  nodes = await Promise.all(
    [0, 1, 2].map(() => startServer({ adapter: createRedisAdapter({ client: new Cluster(redis.nodes, { lazyConnect: true }) }) })),
  )
  nginx = await startNginx(
    'websocket',
    nodes.map((node) => node.port),
  )
}, 30_000)
afterAll(async () => {
  for (const client of clients) client.close()
  await nginx?.stop()
  await Promise.all(nodes.map((node) => node.close()))
  await redis?.stop()
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('three nodes on a Redis Cluster behind a round-robin balancer', () => {
  it('fans every channel out once, in order, to subscribers on every transport', async () => {
    const url = `http://127.0.0.1:${nginx.port}/rt`
    // Several channels, so that they fall on different shards.
    const channels = range(1, 4).map(() => `room:${randomUUID()}`)
    const subscribers = TRANSPORT_CASES.map(([transport, , options]) => connectClient(url, transport, options))
    clients.push(...subscribers)
    const seen = subscribers.map((client) => channels.map((channel) => collect<{ n: number }>(client, channel)))
    await Promise.all(subscribers.flatMap((client) => channels.map((channel) => client.channel(channel).subscribe())))
    const count = 40
    const publishes: Promise<unknown>[] = []
    for (let n = 1; n <= count; n++)
      for (const [i, channel] of channels.entries()) {
        // Odd messages from a node's server (each node in turn), even ones from a client through the balancer.
        if (n % 2 === 1) publishes.push(nodes[(n + i) % 3]!.sb.publish(channel, { n }))
        else publishes.push(subscribers[(n + i) % subscribers.length]!.channel<{ n: number }>(channel).publish({ n }))
      }
    // Server publishes of one channel from different nodes race: order is by offset, so check each
    // channel's messages against the offsets it was given rather than the loop's order.
    await Promise.all(publishes)
    await vi.waitFor(
      () => {
        for (const perChannel of seen) for (const messages of perChannel) expect(messages.length).toBe(count)
      },
      { timeout: 15_000 },
    )
    for (const perChannel of seen)
      for (const [c, messages] of perChannel.entries()) {
        expect(new Set(messages.map((m) => m.n)).size).toBe(count)
        // Every subscriber saw the channel in the same order: the channel's offset order.
        expect(messages).toEqual(seen[0]![c])
      }
    const routed = nodes.reduce((sum, node) => sum + node.sb.routing.forwarded + node.sb.routing.movedIn, 0)
    console.log(
      `Redis Cluster: ${channels.length} channels x ${count} messages to ${subscribers.length} subscribers; ${routed} requests forwarded or sessions moved`,
    )
  })
})
