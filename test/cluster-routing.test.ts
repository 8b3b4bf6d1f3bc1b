import { randomUUID } from 'node:crypto'
import type { SessionChange, SwitchboardClient } from '@switchboard/client'
import { SwitchboardError } from '@switchboard/protocol'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, connectClient, TRANSPORT_CASES } from './helpers/fixture.js'
import { startNginx, type Nginx } from './helpers/nginx.js'
import { startRedisNodes, type RedisNodes } from './helpers/redis-nodes.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

/**
 * Three nodes on one Redis behind nginx round-robin (no ip_hash, no cookie): every request of a
 * session may land on any node. Short requests are forwarded to the node holding the session;
 * a WebSocket or SSE attach moves the session. Clients see one session, every message once, in
 * order, and every call answered once.
 */
let cluster: RedisNodes
let nginx: Nginx
const clients: SwitchboardClient[] = []

beforeAll(async () => {
  cluster = await startRedisNodes(3)
  nginx = await startNginx(
    'websocket',
    cluster.nodes.map((node) => node.port),
  )
})
afterAll(async () => {
  for (const client of clients) client.close()
  await nginx?.stop()
  await cluster?.close()
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const url = () => `http://127.0.0.1:${nginx.port}/rt`
const routed = () =>
  cluster.nodes.reduce(
    (sum, node) => {
      const r = node.sb.routing
      return { forwarded: sum.forwarded + r.forwarded, moved: sum.moved + r.movedIn }
    },
    { forwarded: 0, moved: 0 },
  )

/** A client through the balancer, and every `session` event it reports. */
function through(...args: Parameters<typeof connectClient> extends [string, ...infer Rest] ? Rest : never) {
  const client = connectClient(url(), ...args)
  clients.push(client)
  const sessions: SessionChange[] = []
  client.on('session', (change) => sessions.push(change))
  return { client, sessions }
}

describe('three nodes behind a round-robin balancer', () => {
  it.each(TRANSPORT_CASES)('%s%s: one session, every message and reply once, in order', async (transport, _label, options) => {
    const before = routed()
    const channel = `room:${randomUUID()}`
    const subscriber = through(transport, options)
    const publisher = through(transport, options)
    const seen = collect<{ n: number }>(subscriber.client, channel)
    await subscriber.client.channel(channel).subscribe()
    // Fired the way an app fires them: no window, every one awaited at the end.
    const count = 100
    const publishes = range(1, count).map((n) => publisher.client.channel<{ n: number }>(channel).publish({ n }))
    const calls = range(1, 30).map((n) => publisher.client.call<{ a: number; b: number }, number>('add', { a: n, b: 1 }))
    expect(await Promise.all(calls)).toEqual(range(2, 31))
    const offsets = (await Promise.all(publishes)).map((p) => p.offset)
    expect(new Set(offsets).size).toBe(count)
    await vi.waitFor(() => expect(seen.map((m) => m.n)).toEqual(range(1, count)), { timeout: 10_000 })
    // The same session all along: no `session` event means it was never replaced (nor dropped).
    expect(subscriber.sessions.filter((s) => !s.resumed)).toEqual([])
    expect(publisher.sessions.filter((s) => !s.resumed)).toEqual([])
    const after = routed()
    console.log(`${transport}${_label}: ${after.forwarded - before.forwarded} requests forwarded, ${after.moved - before.moved} sessions moved`)
  })

  it.each(['websocket', 'sse'] as const)(
    '%s: a session that moves again and again mid-stream loses, doubles and reorders nothing; its calls finish once',
    async (transport) => {
      const proxy = await startTcpProxy({ targetPort: nginx.port })
      try {
        const channel = `room:${randomUUID()}`
        const client = connectClient(`${proxy.url}/rt`, transport)
        clients.push(client)
        const seen = collect<{ n: number }>(client, channel)
        await client.channel(channel).subscribe()
        const before = routed().moved
        // The server publishes from node 0 while the client's lines are cut: each reattach lands on
        // the next node round robin, and moves the session there with a slow call in flight.
        const count = 150
        const publishing = (async () => {
          for (let n = 1; n <= count; n++) {
            await cluster.nodes[0]!.sb.publish(channel, { n })
            await new Promise((resolve) => setTimeout(resolve, 4))
          }
        })()
        const calls: Promise<string>[] = []
        // Six cuts at least, and on until the session has moved: whether a reattach lands on
        // another node depends on where the balancer's turn stands (six cuts over SSE moved the
        // session 0 to 3 times), and a run in which it never moved would prove nothing.
        let cuts = 0
        while (cuts < 6 || (routed().moved === before && cuts < 30)) {
          calls.push(client.call<{ ms: number }, string>('slow', { ms: 150 }))
          await new Promise((resolve) => setTimeout(resolve, 60))
          proxy.cutAll()
          cuts++
          await new Promise((resolve) => setTimeout(resolve, 40))
        }
        await publishing
        expect(await Promise.all(calls)).toEqual(calls.map(() => 'done'))
        await vi.waitFor(() => expect(seen.map((m) => m.n)).toEqual(range(1, count)), { timeout: 10_000 })
        const moved = routed().moved - before
        console.log(`${transport}: ${cuts} cuts, ${moved} moves, ${count} messages each once and in order, ${calls.length} calls answered once`)
        expect(moved).toBeGreaterThan(0)
      } finally {
        await proxy.close()
      }
    },
  )

  it('a REST route on node A reaches subscribers on nodes B and C, once each', async () => {
    const channel = `room:${randomUUID()}`
    const onB = cluster.connect(1, 'websocket')
    const onC = cluster.connect(2, 'long-polling')
    const seen = [collect<string>(onB, channel), collect<string>(onC, channel)]
    await Promise.all([onB, onC].map((client) => client.channel(channel).subscribe()))
    for (const text of ['one', 'two']) {
      const answer = await fetch(`${cluster.nodes[0]!.origin}/api/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: text }),
      })
      expect(answer.status).toBe(200)
    }
    await vi.waitFor(() =>
      expect(seen).toEqual([
        ['one', 'two'],
        ['one', 'two'],
      ]),
    )
  })

  it('a move whose channels cannot be caught up (history down) ends the session with a reason, and the client starts anew', async () => {
    const proxy = await startTcpProxy({ targetPort: nginx.port })
    const channel = `room:${randomUUID()}`
    const client = connectClient(`${proxy.url}/rt`, 'websocket')
    clients.push(client)
    const sessions: SessionChange[] = []
    client.on('session', (change) => sessions.push(change))
    await client.channel(channel).subscribe()
    // Every node now reads this channel a thousand messages ahead of where it is, and cannot read
    // its history: a move cannot reach the new node's place, and its history read fails.
    const restore = cluster.adapters.map((adapter) => {
      const { position, history } = adapter
      adapter.position = async (name) => {
        const at = await position.call(adapter, name)
        return name === channel ? { ...at, offset: at.offset + 1_000 } : at
      }
      adapter.history = (name, since) =>
        name === channel ? Promise.reject(new SwitchboardError('ADAPTER_UNAVAILABLE', 'history is down')) : history.call(adapter, name, since)
      return () => Object.assign(adapter, { position, history })
    })
    try {
      for (let cut = 0; cut < 8 && !sessions.some((s) => s.reason === 'ADAPTER_UNAVAILABLE'); cut++) {
        proxy.cutAll()
        await vi.waitFor(() => expect(client.state).toBe('open'), { timeout: 5_000 }).catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, 1_500))
      }
      expect(sessions).toContainEqual(expect.objectContaining({ resumed: false, reason: 'ADAPTER_UNAVAILABLE' }))
    } finally {
      for (const undo of restore) undo()
    }
    // The new session works: a channel subscribed now gets what is published.
    const next = `room:${randomUUID()}`
    const seen = collect<string>(client, next)
    await client.channel(next).subscribe()
    await cluster.nodes[0]!.sb.publish(next, 'after')
    await vi.waitFor(() => expect(seen).toEqual(['after']))
    await proxy.close()
  }, 30_000)
})
