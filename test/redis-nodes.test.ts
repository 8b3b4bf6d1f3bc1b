import { randomUUID } from 'node:crypto'
import type { SessionChange, Subscribed } from '@switchboard/client'
import { createRedisAdapter } from '@switchboard/server/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startBystander, type Bystander } from './helpers/bystander.js'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { startRedisNodes, type RedisNodes } from './helpers/redis-nodes.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

/**
 * Three Switchboard nodes sharing one redis-server, with clients on every transport spread over
 * them: each message reaches every subscriber once, in order, whichever node it was published on
 * or the subscriber is attached to; history and idempotency keys are the cluster's, not a node's.
 */
let cluster: RedisNodes
let nodes: TestServer[]
let bystander: Bystander

beforeAll(async () => {
  cluster = await startRedisNodes(3)
  nodes = cluster.nodes
  bystander = await startBystander(nodes[2]!)
})
afterAll(async () => {
  bystander?.client.close()
  await cluster?.close()
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const fresh = () => `room:${randomUUID()}`

describe('three nodes on one Redis', () => {
  it('delivers publishes from a server on node A and a client on node B to every node’s subscribers, once each, in order', async () => {
    const channel = fresh()
    // Client i is on node i % 3: every transport, every node.
    const subscribers = TRANSPORT_CASES.map(([transport, , options], i) => cluster.connect(i % 3, transport, options))
    const seen = subscribers.map((client) => collect<{ n: number }>(client, channel))
    await Promise.all(subscribers.map((client) => client.channel(channel).subscribe()))
    const onB = subscribers[1]!
    for (let n = 1; n <= 20; n++) {
      if (n % 2 === 1) await nodes[0]!.sb.publish(channel, { n })
      else await onB.channel<{ n: number }>(channel).publish({ n })
    }
    await vi.waitFor(() => {
      for (const messages of seen) expect(messages.map((m) => m.n)).toEqual(range(1, 20))
    })
    await bystander.stillWorks()
  })

  it('answers a key repeated on another node with the first offset, and delivers it once to every node', async () => {
    const channel = fresh()
    const subscribers = [0, 1, 2].map((i) => cluster.connect(i, TRANSPORT_CASES[i]![0], TRANSPORT_CASES[i]![2]))
    const seen = subscribers.map((client) => collect<string>(client, channel))
    await Promise.all(subscribers.map((client) => client.channel(channel).subscribe()))
    expect(await nodes[0]!.sb.publish(channel, 'order 1', { idempotencyKey: 'order-1' })).toBe(1)
    expect(await nodes[1]!.sb.publish(channel, 'order 1 again', { idempotencyKey: 'order-1' })).toBe(1)
    expect(await nodes[2]!.sb.publish(channel, 'order 1 once more', { idempotencyKey: 'order-1' })).toBe(1)
    expect(await nodes[2]!.sb.publish(channel, 'order 2', { idempotencyKey: 'order-2' })).toBe(2)
    await vi.waitFor(() => {
      for (const messages of seen) expect(messages).toEqual(['order 1', 'order 2'])
    })
  })

  it.each(TRANSPORT_CASES)(
    'catches up from Redis history when its node dies and it resubscribes with since on another node (%s%s)',
    async (transport, _label, options) => {
      const channel = fresh()
      // A node of its own to lose, behind a proxy playing the load balancer.
      const doomed = await startServer({ adapter: createRedisAdapter({ url: cluster.redis.url }) })
      const balancer = await startTcpProxy({ targetPort: doomed.port })
      const client = connectClient(`${balancer.url}/rt`, transport, options)
      try {
        const seen = collect<{ n: number }>(client, channel)
        const sessions: SessionChange[] = []
        const answers: Subscribed[] = []
        client.on('session', (change) => sessions.push(change))
        client.channel(channel).on('subscribed', (answer) => answers.push(answer))
        await client.channel(channel).subscribe()
        for (let n = 1; n <= 5; n++) await nodes[1]!.sb.publish(channel, { n })
        await vi.waitFor(() => expect(seen.map((m) => m.n)).toEqual(range(1, 5)))

        // The node dies while the balancer has nowhere to send the client: what is published
        // meanwhile can only come back from history.
        balancer.setDown(true)
        await doomed.close()
        for (let n = 6; n <= 10; n++) await nodes[1]!.sb.publish(channel, { n })
        balancer.setTarget(nodes[2]!.port)
        balancer.setDown(false)

        await vi.waitFor(() => expect(seen.map((m) => m.n)).toEqual(range(1, 10)), { timeout: 10_000 })
        expect(sessions).toEqual([expect.objectContaining({ resumed: false })])
        expect(answers.at(-1)).toEqual({ offset: 10, epoch: answers[0]!.epoch, recovered: true })
      } finally {
        client.close()
        await balancer.close()
      }
    },
  )
})
