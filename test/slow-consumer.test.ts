import type { ChannelMessage, SessionChange, Subscribed, SwitchboardClient, TransportName } from '@switchboard/client'
import { createMemoryAdapter, type Adapter, type LogEvent } from '@switchboard/server'
import { createRedisAdapter } from '@switchboard/server/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'
import { startRedis } from './helpers/redis.js'
import { slowAdapter } from './helpers/slow-adapter.js'

/**
 * A subscriber that stops reading (its downstream stalls in a proxy) while a publisher floods a
 * channel, then reads again; its replay buffer holds 50 frames. Each channel's `slowConsumer`
 * policy decides what it gets: `catch-up` every message once, in order, from history (or an exact
 * `missing` where history is shorter than what it missed), `latest` the newest message with each
 * jump marked, `end` SLOW_CONSUMER and a new session that resubscribes. A fast subscriber of the
 * same channel, the slow session's other channel and its call are untouched. On the memory
 * adapter, on one whose every call answers later and whose deliveries lag (history is read while
 * live messages keep coming, some of which the read already holds), and on Redis.
 */
const BUFFER_FRAMES = 50
const FLOOD = 300
/** The publisher waits for the fast subscriber (and its ack) every CHUNK messages: it never falls behind. */
const CHUNK = 20
/** Messages on the slow session's other channel, one per chunk while the flood runs. */
const SIDE = 5

/** The adapter under test, and what to stop once the server is closed. */
type AdapterCase = () => Promise<{ adapter?: Adapter; stop?: () => Promise<void> }>
const ADAPTERS: [string, AdapterCase][] = [
  ['the memory adapter', async () => ({})],
  ['an adapter that answers later', async () => ({ adapter: slowAdapter(createMemoryAdapter(), { latencyMs: 2, deliveryLatencyMs: 5 }) })],
  [
    'redis',
    async () => {
      const redis = await startRedis()
      return { adapter: createRedisAdapter({ url: redis.url }), stop: () => redis.stop() }
    },
  ],
]

let server: TestServer
let proxy: FaultProxy
/** Server log lines of subscriptions falling behind: `sessionId channel: from -> to`. */
const behind: string[] = []

async function start(adapter: Adapter | undefined) {
  server = await startServer({
    replayBufferFrames: BUFFER_FRAMES,
    adapter,
    logger: (e: LogEvent) => e.kind === 'channel' && e.message.includes(' -> ') && behind.push(`${e.sessionId} ${e.message}`),
  })
  server.sb
    .channel('catchup:*', { historySize: 1_000 }) // catch-up is the default
    .channel('short:*', { historySize: 5 })
    .channel('latest:*', { slowConsumer: 'latest', historySize: 1_000 })
    .channel('ending:*', { slowConsumer: 'end', historySize: 1_000 })
    .channel('side:*', { historySize: 100 })
  proxy = await startFaultProxy({ targetPort: server.port, seed: 1, cutEveryMs: [1e9, 1e9], stallChance: 0, delayChance: 0 })
  proxy.pause() // no faults of its own: only the stalls below
}

const clients: SwitchboardClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  proxy.pause()
})

interface Seen<T> {
  messages: ChannelMessage<T>[]
  subscribed: Subscribed[]
}

/** Subscribes `client` to `name`, recording what it gets. */
async function watch<T = number>(client: SwitchboardClient, name: string): Promise<Seen<T>> {
  const seen: Seen<T> = { messages: [], subscribed: [] }
  const channel = client.channel<T>(name)
  channel.on('message', (m) => seen.messages.push(m))
  channel.on('subscribed', (e) => seen.subscribed.push(e))
  await channel.subscribe()
  return seen
}

const data = (seen: Seen<number>) => seen.messages.map((m) => m.data)
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

/**
 * A slow client (through the proxy) on `name` and `side:…`, a fast one (direct) on `name`; the
 * slow one's downstream stalls, FLOOD messages go to `name` (SIDE of them to its side channel),
 * the slow one makes a call, and then reads again.
 */
async function flood(transport: TransportName, name: string) {
  const slow = connectClient(`${proxy.url}/rt`, transport, { upgrade: false })
  const fast = connectClient(server.url, transport, { upgrade: false })
  clients.push(slow, fast)
  const sessions: { slow: SessionChange[]; fast: SessionChange[] } = { slow: [], fast: [] }
  slow.on('session', (e) => sessions.slow.push(e))
  fast.on('session', (e) => sessions.fast.push(e))
  const side = `side:${name.split(':')[1]}`
  const [slowSeen, sideSeen, fastSeen] = [await watch(slow, name), await watch(slow, side), await watch(fast, name)]
  await slow.call('echo', 'ready') // both subscribes are acked: nothing is in flight
  const slowId = slow.sessionId

  proxy.stallAll(60_000, 'down')
  for (let n = 1; n <= FLOOD; n++) {
    await server.sb.publish(name, n)
    if (n % CHUNK > 0) continue
    if (n / CHUNK <= SIDE) await server.sb.publish(side, n / CHUNK)
    await vi.waitFor(() => expect(fastSeen.messages.at(-1)?.data).toBe(n))
    await fast.call('echo', n) // carries the fast client's ack
  }
  const reply = slow.call<number, number>('echo', 42) // a reply always goes in, past the bound
  // Seen now: the 'end' case may reject it (SESSION_LOST) before the test looks at it.
  reply.catch(() => {})
  proxy.pause() // the slow client reads again
  return { slow, fast, slowId, sessions, slowSeen, sideSeen, fastSeen, reply }
}

/** What the server logged of sessions falling behind on `name`, by session. */
function fellBehind(name: string): Map<string, string[]> {
  const bySession = new Map<string, string[]>()
  for (const line of behind) {
    const [id, channel, move] = line.split(/ (?=\S+: )|: /)
    if (channel === name) bySession.set(id!, [...(bySession.get(id!) ?? []), move!])
  }
  return bySession
}

describe.each(ADAPTERS)('on %s', (adapterName, adapterCase) => {
  let stop: (() => Promise<void>) | undefined
  beforeAll(async () => {
    const { adapter, stop: stopAdapter } = await adapterCase()
    stop = stopAdapter
    await start(adapter)
  })
  afterAll(async () => {
    await proxy?.close()
    await server?.close()
    await stop?.()
  })
  const tag = adapterName.split(' ').at(-1)

  describe.each(['websocket', 'sse', 'long-polling'] as const)('a slow subscriber over %s', (transport) => {
    it('catch-up: gets every message once, in order, from history once it reads again, on the same session', async () => {
      const name = `catchup:${transport}-${tag}`
      const f = await flood(transport, name)
      await vi.waitFor(() => expect(data(f.slowSeen)).toEqual(upTo(FLOOD)), { timeout: 15_000 })
      await expect(f.reply).resolves.toBe(42)
      await vi.waitFor(() => expect(data(f.sideSeen)).toEqual(upTo(SIDE)))
      expect(f.slowSeen.subscribed).toHaveLength(1) // nothing missing was reported
      expect(f.slow.sessionId).toBe(f.slowId)
      expect(f.sessions.slow.filter((s) => !s.resumed)).toEqual([])
      expect(data(f.fastSeen)).toEqual(upTo(FLOOD))
      expect(f.sessions.fast.filter((s) => !s.resumed)).toEqual([])
      // Only the slow session fell behind, and it caught up.
      const moves = fellBehind(name)
      expect([...moves.keys()]).toEqual([f.slowId])
      expect(moves.get(f.slowId!)).toEqual(expect.arrayContaining(['live -> stalled', 'stalled -> recovering', 'recovering -> live']))
      await server.sb.publish(name, FLOOD + 1)
      await vi.waitFor(() => expect(data(f.slowSeen).at(-1)).toBe(FLOOD + 1))
    })

    it('catch-up: is told exactly which messages history no longer held, then gets the rest in order', async () => {
      const name = `short:${transport}-${tag}`
      const f = await flood(transport, name)
      await vi.waitFor(() => expect(data(f.slowSeen).at(-1)).toBe(FLOOD), { timeout: 15_000 })
      await expect(f.reply).resolves.toBe(42)
      // What it got before it stalled (k), then the 5 history still held: k+1..FLOOD-5 are named.
      const got = data(f.slowSeen)
      const k = got.findIndex((n, i) => n !== i + 1)
      expect(k).toBeGreaterThan(0)
      expect(got).toEqual([...upTo(k), ...upTo(5).map((i) => FLOOD - 5 + i)])
      expect(f.slowSeen.subscribed.slice(1)).toEqual([
        { offset: FLOOD - 5, epoch: expect.any(String), recovered: false, missing: { from: k + 1, to: FLOOD - 5 } },
      ])
      expect(f.slow.sessionId).toBe(f.slowId)
      expect(data(f.fastSeen)).toEqual(upTo(FLOOD))
      await vi.waitFor(() => expect(data(f.sideSeen)).toEqual(upTo(SIDE)))
    })

    it('latest: ends with the newest message, each jump marked as deliberate, and nothing stale after it', async () => {
      const name = `latest:${transport}-${tag}`
      const f = await flood(transport, name)
      await vi.waitFor(() => expect(data(f.slowSeen).at(-1)).toBe(FLOOD), { timeout: 15_000 })
      await expect(f.reply).resolves.toBe(42)
      const offsets = f.slowSeen.messages.map((m) => m.offset)
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
      expect(new Set(offsets).size).toBe(offsets.length)
      for (let i = 1; i < offsets.length; i++) expect(f.slowSeen.messages[i]!.skipped ?? 0).toBe(offsets[i]! - offsets[i - 1]! - 1)
      expect(f.slowSeen.messages.some((m) => (m.skipped ?? 0) > 0)).toBe(true)
      expect(f.slowSeen.subscribed).toHaveLength(1) // a deliberate jump is not a gap
      expect(f.slow.sessionId).toBe(f.slowId)
      expect(data(f.fastSeen)).toEqual(upTo(FLOOD))
      expect(f.fastSeen.messages.every((m) => m.skipped === undefined)).toBe(true)
      await vi.waitFor(() => expect(data(f.sideSeen)).toEqual(upTo(SIDE)))
      await server.sb.publish(name, FLOOD + 1)
      await vi.waitFor(() => expect(f.slowSeen.messages.at(-1)).toMatchObject({ data: FLOOD + 1, offset: FLOOD + 1 }))
      expect(f.slowSeen.messages.at(-1)!.skipped).toBeUndefined()
    })

    it('end: the session ends with SLOW_CONSUMER, and a new one resubscribes and gets every message once', async () => {
      const name = `ending:${transport}-${tag}`
      const f = await flood(transport, name)
      await vi.waitFor(() => expect(f.sessions.slow).toContainEqual(expect.objectContaining({ resumed: false, reason: 'SLOW_CONSUMER' })), {
        timeout: 15_000,
      })
      await vi.waitFor(() => expect(data(f.slowSeen)).toEqual(upTo(FLOOD)), { timeout: 15_000 })
      await vi.waitFor(() => expect(data(f.sideSeen)).toEqual(upTo(SIDE)))
      expect(f.slow.sessionId).not.toBe(f.slowId)
      expect(f.slowSeen.subscribed.at(-1)).toMatchObject({ recovered: true, offset: FLOOD })
      // The call made before the end is answered on the new session, or rejects SESSION_LOST if it was lost with the old one.
      await f.reply.then(
        (r) => expect(r).toBe(42),
        (e: { code?: string }) => expect(e.code).toBe('SESSION_LOST'),
      )
      expect(data(f.fastSeen)).toEqual(upTo(FLOOD))
      expect(f.sessions.fast.filter((s) => !s.resumed)).toEqual([])
    })
  })
})
