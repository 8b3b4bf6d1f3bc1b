import { fc, it as itProp } from '@fast-check/vitest'
import { decodeServerBatch, encodeData, FrameType, type ErrorCode, type ServerFrame } from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import type { Adapter, HistoryPage } from './adapters/adapter.js'
import { createMemoryAdapter } from './adapters/memory.js'
import { ChannelRegistry, type ChannelInterest } from './channels.js'
import { Session } from './session.js'
import type { SlowConsumerPolicy } from './slow-consumer.js'
import type { Subscription } from './subscription.js'
import type { ServerTransport } from './transports/transport.js'

const CHANNEL = 'feed:1'
const OTHER = 'feed:2'
/** A channel no one subscribes to when the harness starts. */
const LATE = 'feed:3'

/** What the client was sent on one channel, in order: `n` for message n, `+n` marking `skipped`, `gap a-b`. */
type Seen = string

/**
 * A real session on a line that records every frame, subscribed to CHANNEL (and OTHER) through a
 * real registry on the memory adapter, whose history reads can be made to wait (`deferReads`).
 */
async function harness(policy: SlowConsumerPolicy, { bufferFrames = 4, bufferBytes = 1_000_000, historySize = 100, deferReads = false } = {}) {
  const adapter = createMemoryAdapter()
  const frames: ServerFrame[] = []
  const line: ServerTransport = {
    name: 'websocket',
    writable: true,
    send: (batch) => (frames.push(...decodeServerBatch(batch)), true),
    close: () => {},
  }
  const ended: ErrorCode[] = []
  const session = new Session('s', 'token', null, {
    batch: { maxFrames: 512, maxBytes: 1_000_000 },
    replayBufferFrames: bufferFrames,
    replayBufferBytes: bufferBytes,
    maxPendingRequests: 100,
    maxPendingBytes: 1_000_000,
    heartbeatMs: 1_000,
    recoveryMs: 1_000,
    dispatch: () => {},
    onEnd: (s, code) => (ended.push(code), registry.removeAll(s)),
    logger: undefined,
  })
  /** History reads waiting for `answerReads` (deferReads). */
  const waiting: (() => void)[] = []
  let failReads: Error | null = null
  const reader: ChannelInterest = {
    subscribe: (c) => adapter.subscribe(c),
    unsubscribe: (c) => adapter.unsubscribe(c),
    history(c, since) {
      if (failReads) throw failReads
      if (!deferReads) return adapter.history(c, since)
      // Read now, answered later: what is published meanwhile reaches the subscription live only.
      const page = adapter.history(c, since) as HistoryPage
      return new Promise<HistoryPage>((resolve) => waiting.push(() => resolve(page)))
    },
  }
  const registry = new ChannelRegistry(reader)
  registry.define('feed:*', { slowConsumer: policy })
  await adapter.start({ onMessage: (c, o, e, b) => registry.deliver(c, o, e, b) })
  const subscriptions = new Map<string, Subscription>()
  for (const c of [CHANNEL, OTHER]) {
    const subscription = registry.join(c, session)
    await adapter.subscribe(c)
    const { offset, epoch } = adapter.position(c) as { offset: number; epoch: string }
    subscription.open(null, { offset, epoch, messages: [] })
    subscriptions.set(c, subscription)
  }
  session.attach(line, 0, false)

  const settle = () => new Promise<void>((resolve) => setImmediate(resolve))
  return {
    session,
    ended,
    subscription: subscriptions.get(CHANNEL)!,
    /** Publishes `count` messages, each with its offset as data (and `pad`, when given). */
    async publish(count: number, channel = CHANNEL, pad = '') {
      for (let i = 0; i < count; i++) {
        const offset = (adapter.position(channel) as { offset: number }).offset + 1
        await adapter.publish(channel, encodeData(pad ? { offset, pad } : offset), historySize)
      }
    },
    /** The client acks everything it was sent, then what that made room for is written. */
    async ackAll() {
      await settle()
      session.acked(Math.max(0, ...frames.map((f) => (f[0] >= 20 ? (f[1] as number) : 0))))
      await settle()
    },
    async answerReads() {
      for (const answer of waiting.splice(0)) answer()
      await settle()
    },
    failReadsWith(error: Error | null) {
      failReads = error
    },
    get pendingReads() {
      return waiting.length
    },
    /** What the client saw on `channel`. */
    seen(channel = CHANNEL): Seen[] {
      return frames.flatMap((f): Seen[] => {
        if (f[0] === FrameType.MESSAGE && f[2] === channel) return [f[5] === undefined ? `${f[4]}` : `${f[4]}+${f[5]}`]
        if (f[0] === FrameType.GAP && f[2] === channel) return [`gap ${f[3]}-${f[4]}`]
        return []
      })
    },
    adapter: adapter as Adapter,
    registry,
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}`)

/** Acks until the subscription is live again (each ack frees the whole buffer), at most 50 times. */
async function catchUp(h: Awaited<ReturnType<typeof harness>>, subscription = h.subscription) {
  for (let i = 0; i < 50 && subscription.state !== 'live'; i++) await h.ackAll()
  await h.ackAll()
}

describe('Subscription, catch-up', () => {
  it('stops queueing when the buffer is full, then sends what it missed from history, once and in order', async () => {
    const h = await harness('catch-up')
    await h.publish(10)
    expect(h.subscription.state).toBe('stalled')
    expect(h.session.unacked).toBe(4)
    await catchUp(h)
    expect(h.subscription.state).toBe('live')
    await h.publish(1)
    await h.ackAll()
    expect(h.seen()).toEqual(range(1, 11))
    expect(h.ended).toEqual([])
  })

  it('holds live messages that arrive while history is read, and sends each once', async () => {
    const h = await harness('catch-up', { deferReads: true, bufferFrames: 8 })
    await h.publish(12) // 1..8 queued, 9..12 left to history
    await h.ackAll()
    expect(h.subscription.state).toBe('recovering')
    expect(h.pendingReads).toBe(1)
    await h.publish(2) // 13, 14 arrive while the read is in flight: held, since the page ends at 12
    await h.answerReads()
    await h.ackAll()
    expect(h.subscription.state).toBe('live')
    expect(h.seen()).toEqual(range(1, 14))
  })

  it('names exactly what history no longer holds in a GAP, before the messages after it', async () => {
    const h = await harness('catch-up', { historySize: 3 })
    await h.publish(10) // 1..4 queued; history keeps 8..10
    await catchUp(h)
    expect(h.seen()).toEqual([...range(1, 4), 'gap 5-7', ...range(8, 10)])
    await h.publish(1)
    await h.ackAll()
    expect(h.seen().at(-1)).toBe('11')
  })

  it('names every missed offset when the channel keeps no history, and goes live at the position', async () => {
    const h = await harness('catch-up', { historySize: 0 })
    await h.publish(9)
    await catchUp(h)
    expect(h.seen()).toEqual([...range(1, 4), 'gap 5-9'])
    await h.publish(1)
    await h.ackAll()
    expect(h.seen()).toEqual([...range(1, 4), 'gap 5-9', '10'])
  })

  it('stalls again when the catch-up is larger than the room, and finishes it on later acks', async () => {
    const h = await harness('catch-up', { bufferFrames: 4 })
    await h.publish(30)
    await catchUp(h)
    expect(h.seen()).toEqual(range(1, 30))
  })

  it('leaves the session’s other channel untouched while this one is stalled', async () => {
    const h = await harness('catch-up', { bufferFrames: 8 })
    await h.publish(20)
    await h.publish(3, OTHER) // the buffer is full: OTHER stalls too, and catches up from its own history
    await catchUp(h)
    await h.publish(1, OTHER)
    await h.ackAll()
    expect(h.seen(OTHER)).toEqual(range(1, 4))
    expect(h.seen()).toEqual(range(1, 20))
    expect(h.ended).toEqual([])
  })

  it('ends the session ADAPTER_UNAVAILABLE when history cannot be read, and nothing else', async () => {
    const h = await harness('catch-up')
    await h.publish(6)
    h.failReadsWith(new Error('broker down'))
    await h.ackAll()
    expect(h.ended).toEqual(['ADAPTER_UNAVAILABLE'])
    expect(h.subscription.closed).toBe(true)
  })

  it('ends the session ADAPTER_UNAVAILABLE when a deferred history read rejects', async () => {
    const h = await harness('catch-up')
    const inner = h.adapter.history
    await h.publish(6)
    h.adapter.history = () => Promise.reject(new Error('broker down'))
    await h.ackAll()
    h.adapter.history = inner
    await expect.poll(() => h.ended).toEqual(['ADAPTER_UNAVAILABLE'])
  })

  it('ends the session ADAPTER_UNAVAILABLE when history comes back in a new epoch', async () => {
    const h = await harness('catch-up')
    await h.publish(6)
    await h.adapter.close() // a restart: the read the ack starts is of a new epoch
    await h.ackAll()
    expect(h.ended).toEqual(['ADAPTER_UNAVAILABLE'])
  })

  it('ignores a history read that answers after the session left the channel', async () => {
    const h = await harness('catch-up', { deferReads: true })
    await h.publish(6)
    await h.ackAll()
    const before = h.seen()
    h.subscription.close()
    await h.answerReads()
    await h.ackAll()
    expect(h.seen()).toEqual(before)
    expect(h.subscription.state).toBe('closed')
  })

  it('answers a subscribe whose catch-up does not fit with the last offset sent, and sends the rest after it', async () => {
    const h = await harness('catch-up', { bufferFrames: 4 })
    await h.publish(10, LATE)
    const page = h.adapter.history(LATE, 0) as HistoryPage
    const subscription = h.registry.join(LATE, h.session)
    expect(subscription.open([0, page.epoch], page)).toEqual({ offset: 4, epoch: page.epoch, recovered: true })
    expect(subscription.state).toBe('stalled')
    await catchUp(h, subscription)
    expect(h.seen(LATE)).toEqual(range(1, 10))
  })
})

describe('Subscription, past the held bound (a history read that takes long during a flood)', () => {
  const PAD = 'x'.repeat(100_000) // 84 of these are past MAX_HELD_BYTES (8 MiB)
  const roomy = { bufferFrames: 1_000, bufferBytes: 30_000_000, historySize: 1_000, deferReads: true }

  it('catch-up: sends what it held, then reads history again for the rest', async () => {
    const h = await harness('catch-up', roomy)
    await h.publish(20, LATE, PAD)
    const subscription = h.registry.join(LATE, h.session)
    const page = h.adapter.history(LATE, 0) as HistoryPage
    await h.publish(100, LATE, PAD) // held while the subscribe is served: past the bound
    expect(subscription.open([0, page.epoch], page)).toMatchObject({ recovered: true })
    await vi.waitFor(() => expect(h.pendingReads).toBe(1)) // read again, after the answer
    await h.answerReads()
    await catchUp(h, subscription)
    expect(h.seen(LATE)).toEqual(range(1, 120))
  })

  it('latest: sends what it held, then the newest message, marked with how many it replaced', async () => {
    const h = await harness('latest', roomy)
    const subscription = h.registry.join(LATE, h.session)
    await h.publish(100, LATE, PAD)
    subscription.open(null, { offset: 0, epoch: (h.adapter.position(LATE) as HistoryPage).epoch, messages: [] })
    await h.ackAll()
    const seen = h.seen(LATE)
    const held = Number(seen.at(-2))
    expect(held).toBeGreaterThan(50)
    expect(seen).toEqual([...range(1, held), `100+${99 - held}`])
  })

  it('end: ends the session with SLOW_CONSUMER', async () => {
    const h = await harness('end', roomy)
    h.registry.join(LATE, h.session)
    await h.publish(100, LATE, PAD)
    expect(h.ended).toEqual(['SLOW_CONSUMER'])
  })
})

describe('Subscription, latest', () => {
  itProp.prop([fc.array(fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(0)), { maxLength: 30 }), fc.integer({ min: 2, max: 10 })])(
    'ends with the newest message, offsets rising, every jump marked with its size',
    async (steps, bufferFrames) => {
      const h = await harness('latest', { bufferFrames })
      let published = 0
      for (const n of steps) {
        if (n === 0) await h.ackAll()
        else await h.publish(n), (published += n)
      }
      await catchUp(h)
      const offsets: number[] = []
      for (const s of h.seen()) {
        const [offset, skipped = 0] = s.split('+').map(Number) as [number, number?]
        expect(offset - (offsets.at(-1) ?? 0) - 1).toBe(skipped)
        offsets.push(offset)
      }
      expect(offsets.at(-1) ?? 0).toBe(published)
      expect(h.ended).toEqual([])
    },
  )

  it('keeps only the newest message waiting, marked with how many it replaced, then goes live', async () => {
    const h = await harness('latest')
    await h.publish(10)
    expect(h.subscription.state).toBe('coalescing')
    await h.ackAll()
    expect(h.subscription.state).toBe('live')
    await h.publish(1)
    await h.ackAll()
    expect(h.seen()).toEqual([...range(1, 4), '10+5', '11'])
  })

  it('sends the newest one unmarked when it directly follows the last sent', async () => {
    const h = await harness('latest')
    await h.publish(5)
    await h.ackAll()
    expect(h.seen()).toEqual(range(1, 5))
  })
})

describe('Subscription, end', () => {
  it('refuses to open once closed: its subscribe is not answered', async () => {
    const h = await harness('end')
    h.subscription.close()
    expect(() => h.subscription.open(null, { offset: 0, epoch: 'e1', messages: [] })).toThrow('opened after it closed')
  })

  it('ends the session with SLOW_CONSUMER, as before there were policies', async () => {
    const h = await harness('end')
    await h.publish(5)
    expect(h.ended).toEqual(['SLOW_CONSUMER'])
    expect(h.subscription.closed).toBe(true)
  })
})

describe('Subscription, any interleaving', () => {
  const step = fc.oneof(
    fc.record({ publish: fc.integer({ min: 1, max: 12 }), other: fc.boolean() }),
    fc.constant({ ack: true as const }),
    fc.constant({ answer: true as const }),
  )
  itProp.prop([fc.array(step, { maxLength: 30 }), fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 40 }), fc.boolean()])(
    'catch-up sends every offset once, in order, or names it in a GAP',
    async (steps, bufferFrames, historySize, deferReads) => {
      const h = await harness('catch-up', { bufferFrames, historySize, deferReads })
      let published = 0
      for (const s of steps) {
        if ('publish' in s) {
          await h.publish(s.publish, s.other ? OTHER : CHANNEL)
          if (!s.other) published += s.publish
        } else if ('ack' in s) await h.ackAll()
        else await h.answerReads()
      }
      for (let i = 0; i < 200 && h.subscription.state !== 'live'; i++) {
        await h.answerReads()
        await h.ackAll()
      }
      expect(h.subscription.state).toBe('live')
      expect(h.ended).toEqual([])
      // Every offset 1..published exactly once, as a message or inside a gap, in order.
      const covered: number[] = []
      for (const s of h.seen()) {
        const gap = /^gap (\d+)-(\d+)$/.exec(s)
        if (gap) for (let n = Number(gap[1]); n <= Number(gap[2]); n++) covered.push(n)
        else covered.push(Number(s))
      }
      expect(covered).toEqual(Array.from({ length: published }, (_, i) => i + 1))
      // A gap only where history could not have held the offsets.
      for (const s of h.seen()) {
        const gap = /^gap \d+-(\d+)$/.exec(s)
        if (gap) expect(Number(gap[1])).toBeLessThanOrEqual(published - historySize)
      }
    },
  )
})
