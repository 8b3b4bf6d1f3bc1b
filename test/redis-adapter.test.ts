import { randomUUID } from 'node:crypto'
import { encodeData, SwitchboardError } from '@switchboard/protocol'
import type { AdapterEvents, LogEvent } from '@switchboard/server'
import { createRedisAdapter, type RedisAdapter, type RedisAdapterOptions } from '@switchboard/server/redis'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startRedis, type RedisServer } from './helpers/redis.js'

/** What the Redis adapter does beyond the Adapter contract: outages, health, interest in Redis, its options. */
let redis: RedisServer
let inspector: Redis
const opened: RedisAdapter[] = []

beforeAll(async () => {
  redis = await startRedis()
  inspector = new Redis(redis.url)
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((adapter) => adapter.close()))
})
afterAll(async () => {
  inspector?.disconnect()
  await redis?.stop()
})

const fresh = (label: string) => `${label}:${randomUUID()}`
const code = (e: unknown) => (e instanceof SwitchboardError ? e.code : e)

async function open(options: RedisAdapterOptions = {}, events: Partial<AdapterEvents> = {}): Promise<RedisAdapter> {
  const adapter = createRedisAdapter({ url: redis.url }, options)
  opened.push(adapter)
  await adapter.start({ onMessage: () => {}, ...events })
  return adapter
}

/** Every call of the adapter, each settled to its value or its error code. */
function everyCall(adapter: RedisAdapter, channel: string) {
  const calls: Record<string, () => unknown> = {
    publish: () => adapter.publish(channel, '1', 10),
    'publish with a key': () => adapter.publish(channel, '1', 10, 'k'),
    position: () => adapter.position(channel),
    history: () => adapter.history(channel, 0),
    recent: () => adapter.recent(channel, 5),
    subscribe: () => adapter.subscribe(channel),
    'presence.add': () => adapter.presence.add(channel, 'ann', '{}', 60_000),
    'presence.list': () => adapter.presence.list(channel),
    'presence.remove': () => adapter.presence.remove(channel, 'ann'),
    'sessions.claim': () => adapter.sessions.claim('s1', 60_000),
    'sessions.owner': () => adapter.sessions.owner('s1'),
    'sessions.renew': () => adapter.sessions.renew('s1', 1, 60_000),
    'sessions.handOver': () => adapter.sessions.handOver('s1', 1, 'other', 60_000),
    'sessions.release': () => adapter.sessions.release('s1', 1),
    'sessions.forward': () => adapter.sessions.forward('other', 'x', 5_000),
  }
  return Promise.all(
    Object.entries(calls).map(async ([name, call]) => {
      try {
        await call()
        return [name, 'ok']
      } catch (e) {
        return [name, code(e)]
      }
    }),
  ).then(Object.fromEntries)
}

describe('the Redis adapter', () => {
  it('starts while Redis is down, fails every call fast with ADAPTER_UNAVAILABLE, and serves once Redis is up', async () => {
    const down = await startRedis()
    const logs: LogEvent[] = []
    const received: number[] = []
    await down.down()
    try {
      const adapter = createRedisAdapter({ url: down.url }, { connectTimeoutMs: 200 })
      opened.push(adapter)
      await adapter.start({ onMessage: (_channel, offset) => received.push(offset), logger: (e) => logs.push(e) })
      await vi.waitFor(() => expect(adapter.health()).toMatchObject({ state: 'degraded', reason: expect.stringContaining('ECONNREFUSED') }))
      const channel = fresh('down')
      const started = performance.now()
      const results = await everyCall(adapter, channel)
      expect(performance.now() - started).toBeLessThan(1_000)
      expect(new Set(Object.values(results))).toEqual(new Set(['ADAPTER_UNAVAILABLE']))

      await down.up()
      await vi.waitFor(() => expect(adapter.health().state).toBe('healthy'), { timeout: 10_000 })
      await adapter.unsubscribe(channel) // the core's answer to the failed subscribe
      await adapter.subscribe(channel)
      expect(await adapter.publish(channel, '1', 10)).toBe(1)
      await vi.waitFor(() => expect(received).toEqual([1]))
      expect(logs.map((e) => [e.kind, e.message.split(':')[0]])).toEqual([
        ['adapter', 'redis degraded'],
        ['adapter', 'redis healthy'],
      ])
    } finally {
      await down.stop()
    }
  })

  it('rejects a forward in flight when it closes, with NODE_UNREACHABLE, and nothing unhandled', async () => {
    const asking = await open()
    const answering = await open({}, { onForward: () => new Promise<string>(() => {}) })
    // Closed while the request is being sent, and while one waits for its answer.
    const sending = asking.sessions.forward(answering.sessions.nodeId, 'first', 5_000)
    const waiting = asking.sessions.forward(answering.sessions.nodeId, 'second', 5_000)
    await asking.close()
    expect(await sending.then(() => 'answered', code)).toBe('NODE_UNREACHABLE')
    expect(await waiting.then(() => 'answered', code)).toBe('NODE_UNREACHABLE')
  })

  it('subscribes in Redis only to the channels this node has subscribers for', async () => {
    const adapter = await open()
    const [wanted, unwanted] = [fresh('wanted'), fresh('unwanted')]
    const channels = async () => (await inspector.pubsub('CHANNELS', 'sb:{ch:*')) as string[]
    await adapter.subscribe(wanted)
    await adapter.publish(unwanted, '1', 0)
    expect(await channels()).toEqual([`sb:{ch:${wanted}}`])
    await adapter.unsubscribe(wanted)
    await vi.waitFor(async () => expect(await channels()).toEqual([]))
  })

  it('trims messages older than historyMaxAgeMs from history as it goes, and drops the history of an idle channel', async () => {
    const adapter = await open({ historyMaxAgeMs: 300 })
    const channel = fresh('aged')
    const key = `sb:{ch:${channel}}:h`
    let n = 0
    while (n < 70) await adapter.publish(channel, encodeData({ n: ++n }), 1_000)
    expect((await adapter.history(channel, 0)).messages).toHaveLength(70)
    // Publishing on: the first 70 age out, and each publish trims them from the stream itself.
    await vi.waitFor(
      async () => {
        await adapter.publish(channel, encodeData({ n: ++n }), 1_000)
        const [[head]] = (await inspector.xrange(key, '-', '+', 'COUNT', 1)) as unknown as [[string]]
        expect(Number.parseInt(head, 10)).toBeGreaterThan(70)
      },
      { timeout: 5_000, interval: 50 },
    )
    expect((await adapter.history(channel, 0)).messages[0]!.offset).toBeGreaterThan(70)
    // Idle: the stream expires with its last message; offsets go on.
    await vi.waitFor(async () => expect(await inspector.exists(key)).toBe(0), { timeout: 5_000 })
    expect(await adapter.history(channel, 0)).toMatchObject({ offset: n, messages: [] })
    expect(await adapter.publish(channel, '1', 1_000)).toBe(n + 1)
  })

  it('keeps apps with different prefixes apart on one Redis', async () => {
    const [a, b] = [await open({ prefix: 'app-a:' }), await open({ prefix: 'app-b:' })]
    const channel = fresh('shared-name')
    expect(await a.publish(channel, '1', 0)).toBe(1)
    expect(await b.publish(channel, '1', 0)).toBe(1)
    expect(await inspector.exists(`app-a:{ch:${channel}}:m`, `app-b:{ch:${channel}}:m`)).toBe(2)
  })

  it.each([
    ['commandTimeoutMs', { commandTimeoutMs: 0 }],
    ['connectTimeoutMs', { connectTimeoutMs: -1 }],
    ['idempotencyWindowMs', { idempotencyWindowMs: Number.NaN }],
    ['historyMaxAgeMs', { historyMaxAgeMs: 0 }],
  ])('refuses a %s that is not a positive number', (name, options) => {
    expect(() => createRedisAdapter({ url: redis.url }, options)).toThrow(new TypeError(`${name} must be a positive number`))
  })
})
