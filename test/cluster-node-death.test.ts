import { randomUUID } from 'node:crypto'
import type { SwitchboardClient, TransportName } from '@switchboard/client'
import { SwitchboardError } from '@switchboard/protocol'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient } from './helpers/fixture.js'
import { startNginx, type Nginx } from './helpers/nginx.js'
import { startRedis, type RedisServer } from './helpers/redis.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'

/**
 * Three nodes (processes of their own) on one Redis behind nginx round-robin, clients on every
 * transport publishing and calling through it; one node is killed (SIGKILL) mid-stream. Its
 * clients start new sessions on the others; channels recover from Redis history; publishes in
 * flight are resent with their keys and processed exactly once; calls in flight on the dead node
 * fail with SESSION_LOST (never silently, never run twice).
 */
let redis: RedisServer
let nodes: ServerProcess[] = []
let nginx: Nginx
const clients: SwitchboardClient[] = []

beforeAll(async () => {
  redis = await startRedis()
  nodes = await Promise.all([0, 1, 2].map((i) => startServerProcess({ redisUrl: redis.url, nodeId: `node-${i}` })))
  nginx = await startNginx(
    'websocket',
    nodes.map((node) => Number(new URL(node.url).port)),
  )
}, 30_000)
afterAll(async () => {
  for (const client of clients) client.close()
  await nginx?.stop()
  await Promise.all(nodes.map((node) => node.stop()))
  await redis?.stop()
})

interface Sent {
  from: number
  n: number
}

const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'long-polling', 'websocket', 'sse', 'long-polling']
const PER_CLIENT = 1_000

describe('a node killed mid-stream', () => {
  it('loses, doubles and reorders nothing; publishes go out once, calls finish once or fail with a code', async () => {
    const channel = `log:${randomUUID()}`
    const url = `http://127.0.0.1:${nginx.port}/rt`
    const received = TRANSPORTS.map(() => [] as (Sent & { offset: number })[])
    const states = TRANSPORTS.map(() => 'connecting')
    const lostSessions = TRANSPORTS.map(() => 0)
    for (const [i, transport] of TRANSPORTS.entries()) {
      const client = connectClient(url, transport)
      clients.push(client)
      client.on('state', (change) => (states[i] = change.to))
      client.on('session', (change) => !change.resumed && lostSessions[i]!++)
      client.channel<Sent>(channel).on('message', (m) => received[i]!.push({ ...m.data, offset: m.offset }))
    }
    await Promise.all(clients.map((client) => client.channel(channel).subscribe()))

    // Every client publishes PER_CLIENT messages, a few each millisecond, and keeps a slow call going.
    const publishes: Promise<{ offset: number }>[] = []
    const callOutcomes = new Map<string, number>()
    let calling = true
    const callLoops = clients.map(async (client) => {
      while (calling) {
        const code = await client.call('slow', { ms: 50 }).then(
          () => 'ok',
          (e: unknown) => (e instanceof SwitchboardError ? e.code : 'thrown'),
        )
        callOutcomes.set(code, (callOutcomes.get(code) ?? 0) + 1)
        // A call that fails at once must not spin this loop in microtasks, starving everything else.
        if (code !== 'ok') await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })
    let killedAt = 0
    let victim = 0
    let heldByVictim = 0
    for (let n = 1; n <= PER_CLIENT; n++) {
      for (const [from, client] of clients.entries()) publishes.push(client.channel<Sent>(channel).publish({ from, n }))
      if (n % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
      if (n === PER_CLIENT / 4) {
        // The node holding the most sessions dies.
        const held = await Promise.all(nodes.map(async (node) => (await node.stats()).sessions))
        victim = held.indexOf(Math.max(...held))
        nodes[victim]!.daemon.child.kill('SIGKILL')
        killedAt = Date.now()
        heldByVictim = held[victim]!
      }
    }
    const outcomes = await Promise.allSettled(publishes)
    const failed = outcomes.filter((o) => o.status === 'rejected')
    expect(failed.map((o) => (o as PromiseRejectedResult).reason)).toEqual([])
    const total = PER_CLIENT * clients.length
    // Exactly once, cluster-wide: one offset per publish, with no gap.
    const offsets = outcomes.map((o) => (o as PromiseFulfilledResult<{ offset: number }>).value.offset).sort((a, b) => a - b)
    expect(offsets[0]).toBe(1)
    expect(offsets.at(-1)).toBe(total)
    expect(new Set(offsets).size).toBe(total)

    await vi.waitFor(() => expect(received.map((r) => r.length)).toEqual(received.map(() => total)), { timeout: 30_000, interval: 100 })
    const backAfterMs = Date.now() - killedAt
    calling = false
    await Promise.all(callLoops)
    for (const seen of received) {
      // In offset order, each once, and every publisher's messages in the order it sent them.
      expect(seen.map((m) => m.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      for (let from = 0; from < clients.length; from++)
        expect(seen.filter((m) => m.from === from).map((m) => m.n)).toEqual(Array.from({ length: PER_CLIENT }, (_, i) => i + 1))
    }
    await vi.waitFor(() => expect(states).toEqual(states.map(() => 'open')), { timeout: 10_000 })
    // A call either completed or failed with SESSION_LOST (its node died with it).
    expect([...callOutcomes.keys()].filter((code) => code !== 'ok' && code !== 'SESSION_LOST')).toEqual([])
    const stats = await Promise.all(nodes.filter((_, i) => i !== victim).map((node) => node.stats()))
    const sum = (key: 'forwarded' | 'movedIn') => stats.reduce((total, s) => total + s.routing[key], 0)
    console.log(
      [
        `killed node-${victim}, which held ${heldByVictim} of ${clients.length} sessions, after ${PER_CLIENT / 4} of ${PER_CLIENT} rounds`,
        `${total} publishes sent (client to server), ${received.length * total} deliveries (server to client)`,
        `received ${received.reduce((n, r) => n + r.length, 0)}, lost 0, duplicated 0`,
        `sessions started anew after the kill: ${lostSessions.reduce((a, b) => a + b, 0)}`,
        `on the surviving nodes: ${sum('forwarded')} requests forwarded, ${sum('movedIn')} sessions moved in`,
        `calls: ${[...callOutcomes].map(([code, n]) => `${code} ${n}`).join(', ')}`,
        `every client had every message ${backAfterMs} ms after the kill`,
      ].join('\n'),
    )
  }, 90_000)
})
