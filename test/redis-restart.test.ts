import { randomUUID } from 'node:crypto'
import type { SessionChange, Subscribed } from '@switchboard/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startBystander, type Bystander } from './helpers/bystander.js'
import { collect, TRANSPORT_CASES } from './helpers/fixture.js'
import { startRedisNodes, type RedisNodes } from './helpers/redis-nodes.js'

/**
 * Redis goes away mid-stream and comes back, while three nodes keep running: publishes fail fast
 * with ADAPTER_UNAVAILABLE meanwhile, the nodes reconnect and resubscribe by themselves, and every
 * subscriber ends up with every message once, in order. Without persistence Redis comes back
 * empty: the channel's epoch changes, and each subscriber is told it did not fully recover. With
 * an append-only file nothing is lost and no session notices.
 */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const code = (e: unknown) => (e as { code?: string }).code

describe.each([
  ['without persistence: a new epoch, and subscribers are told what is missing', false],
  ['with an append-only file: nothing lost, no session replaced', true],
])('Redis restarted mid-stream, %s', (_label, persistent) => {
  let cluster: RedisNodes
  let bystander: Bystander

  beforeAll(async () => {
    cluster = await startRedisNodes(3, { persistent })
    bystander = await startBystander(cluster.nodes[0]!)
  })
  afterAll(async () => {
    bystander?.client.close()
    await cluster?.close()
  })

  it('fails publishes fast while Redis is down, then delivers everything once, in order, on every transport', async () => {
    const { redis, adapters, nodes, logs } = cluster
    const channel = `room:${randomUUID()}`
    const subscribers = TRANSPORT_CASES.map(([transport, , options], i) => cluster.connect(i % 3, transport, options))
    const seen = subscribers.map((client) => collect<{ n: number }>(client, channel))
    const answers = subscribers.map(() => [] as Subscribed[])
    const sessions = subscribers.map(() => [] as SessionChange[])
    subscribers.forEach((client, i) => {
      client.channel(channel).on('subscribed', (answer) => answers[i]!.push(answer))
      client.on('session', (change) => sessions[i]!.push(change))
    })
    await Promise.all(subscribers.map((client) => client.channel(channel).subscribe()))
    for (let n = 1; n <= 5; n++) await nodes[0]!.sb.publish(channel, { n })
    await vi.waitFor(() => {
      for (const messages of seen) expect(messages.map((m) => m.n)).toEqual(range(1, 5))
    })
    const before = answers[0]![0]!.epoch

    await redis.down()
    await vi.waitFor(() => {
      for (const adapter of adapters) expect(adapter.health().state).toBe('degraded')
    })
    const started = performance.now()
    await expect(nodes[1]!.sb.publish(channel, { n: 'lost' }).catch(code)).resolves.toBe('ADAPTER_UNAVAILABLE')
    await expect(subscribers[2]!.channel(channel).publish({ n: -1 }).catch(code)).resolves.toBe('ADAPTER_UNAVAILABLE')
    expect(performance.now() - started).toBeLessThan(1_000)

    await redis.up()
    await vi.waitFor(
      () => {
        for (const adapter of adapters) expect(adapter.health()).toMatchObject({ state: 'healthy' })
      },
      { timeout: 10_000 },
    )
    const offsets: number[] = []
    for (let n = 6; n <= 10; n++) offsets.push(await nodes[1]!.sb.publish(channel, { n }))

    await vi.waitFor(
      () => {
        for (const messages of seen) expect(messages.map((m) => m.n)).toEqual(range(1, 10))
      },
      { timeout: 10_000 },
    )
    if (persistent) {
      expect(offsets).toEqual(range(6, 10))
      for (const list of answers) expect(list).toEqual([{ offset: 0, epoch: before, recovered: true }])
      for (const list of sessions) expect(list).toEqual([])
    } else {
      // Offsets start again in a new epoch; each subscriber came back in a new session and was told.
      expect(offsets).toEqual(range(1, 5))
      for (const list of answers) {
        expect(list).toHaveLength(2)
        expect(list[1]).toMatchObject({ recovered: false, missing: { from: null, to: 0 } })
        expect(list[1]!.epoch).not.toBe(before)
      }
      for (const list of sessions) expect(list).toEqual([expect.objectContaining({ resumed: false, reason: 'ADAPTER_UNAVAILABLE' })])
    }
    expect(logs.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^redis degraded/), 'redis healthy']))
    await bystander.stillWorks()
  })
})
