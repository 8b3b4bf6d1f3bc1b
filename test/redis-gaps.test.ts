import { randomUUID } from 'node:crypto'
import type { SessionChange, Subscribed } from '@switchboard/client'
import type { RedisAdapter } from '@switchboard/server/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, type TestServer } from './helpers/fixture.js'
import { startRedisNodes, type RedisNodes } from './helpers/redis-nodes.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'

/**
 * One node loses Redis (a proxy between them goes down) while another keeps publishing: Redis
 * pub/sub drops what the cut-off node was not there to receive. Once back, the node reads what it
 * missed from history and delivers it in order, so its sessions never notice; for a channel
 * without history its sessions are replaced and told exactly which offsets are gone.
 */
let cluster: RedisNodes
let link: TcpProxy
let cutOff: RedisAdapter
let nodes: TestServer[]

beforeAll(async () => {
  // Node 1 reaches Redis through a proxy the test can take down.
  cluster = await startRedisNodes(2, {
    urlOf: async (i, redis) => {
      if (i === 0) return redis.url
      link = await startTcpProxy({ targetPort: redis.port })
      return `redis://127.0.0.1:${link.port}`
    },
  })
  nodes = cluster.nodes
  cutOff = cluster.adapters[1]!
})
afterAll(async () => {
  await cluster?.close()
  await link?.close()
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** A client on the node that will be cut off, subscribed to `channel`, and what it sees. */
async function watch(channel: string) {
  const client = cluster.connect(1, 'websocket')
  const seen = collect<{ n: number }>(client, channel)
  const answers: Subscribed[] = []
  const sessions: SessionChange[] = []
  client.channel(channel).on('subscribed', (answer) => answers.push(answer))
  client.on('session', (change) => sessions.push(change))
  await client.channel(channel).subscribe()
  return { seen, answers, sessions, numbers: () => seen.map((m) => m.n) }
}

/** Publishes `from`..`to` on the node that stays connected. */
async function publish(channel: string, from: number, to: number) {
  for (let n = from; n <= to; n++) await nodes[0]!.sb.publish(channel, { n })
}

/** Cuts the node off, runs `meanwhile`, and waits until it is healthy again. */
async function cutOffWhile(meanwhile: () => Promise<void>) {
  link.setDown(true)
  await vi.waitFor(() => expect(cutOff.health().state).toBe('degraded'))
  await meanwhile()
  link.setDown(false)
  await vi.waitFor(() => expect(cutOff.health().state).toBe('healthy'), { timeout: 10_000 })
}

describe('a node cut off from Redis while the others publish', () => {
  it('delivers what its pub/sub missed from history, in order, without replacing a session', async () => {
    const channel = `room:${randomUUID()}`
    const watcher = await watch(channel)
    await publish(channel, 1, 3)
    await vi.waitFor(() => expect(watcher.numbers()).toEqual(range(1, 3)))
    await cutOffWhile(() => publish(channel, 4, 8))
    // Nothing is published after the node is back: the missed messages come from its catch-up alone.
    await vi.waitFor(() => expect(watcher.numbers()).toEqual(range(1, 8)))
    await publish(channel, 9, 10)
    await vi.waitFor(() => expect(watcher.numbers()).toEqual(range(1, 10)))
    expect(watcher.sessions).toEqual([])
    expect(watcher.answers).toHaveLength(1)
  })

  it('replaces the sessions of a channel without history, whose resubscribe names the offsets that are gone', async () => {
    const channel = 'news'
    const watcher = await watch(channel)
    await publish(channel, 1, 3)
    await vi.waitFor(() => expect(watcher.numbers()).toEqual(range(1, 3)))
    await cutOffWhile(() => publish(channel, 4, 6))
    await publish(channel, 7, 9)
    // The session comes back within a second (its return is spread over one), then resubscribes.
    await vi.waitFor(() => expect(watcher.answers).toHaveLength(2), { timeout: 5_000 })
    expect(watcher.sessions).toEqual([expect.objectContaining({ resumed: false, reason: 'ADAPTER_UNAVAILABLE' })])
    const { missing } = watcher.answers[1]!
    expect(missing).toEqual({ from: 4, to: expect.any(Number) })
    await publish(channel, 10, 10)
    await vi.waitFor(() => expect(watcher.numbers().at(-1)).toBe(10))
    // Whatever was not delivered is named missing, and nothing came twice or out of order.
    const delivered = watcher.numbers()
    expect(delivered).toEqual([...range(1, 3), ...range(missing!.to + 1, 10)])
  })
})
