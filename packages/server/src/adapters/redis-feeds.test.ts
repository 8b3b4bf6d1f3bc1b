import { describe, expect, it, vi } from 'vitest'
import type { HistoryPage } from './adapter.js'
import { ChannelFeeds } from './redis-feeds.js'
import { RedisKeys } from './redis-keys.js'
import type { PubSubHandler, PubSubLink } from './redis-pubsub.js'

/** A pub/sub link that hands the test each channel's handler, and a history the test fills. */
function setUp() {
  const handlers = new Map<string, PubSubHandler>()
  const link = {
    add: async (name: string, handler: PubSubHandler) => void handlers.set(name, handler),
    remove: (name: string) => void handlers.delete(name),
  } as unknown as PubSubLink
  const keys = new RedisKeys('sb:')
  const history: { epoch: string; offset: number; bodies: Map<number, string> } = { epoch: 'e1', offset: 0, bodies: new Map() }
  const reads: number[] = []
  let release: (() => void) | undefined
  const read = async (_channel: string, since: number): Promise<HistoryPage> => {
    reads.push(since)
    if (release === undefined) await new Promise<void>((resolve) => (release = resolve))
    const messages = [...history.bodies].filter(([offset]) => offset > since).map(([offset, body]) => ({ offset, body }))
    return { offset: history.offset, epoch: history.epoch, messages }
  }
  const feeds = new ChannelFeeds(link, keys, read, () => undefined)
  const delivered: string[] = []
  feeds.onMessage = (channel, offset, epoch, body) => delivered.push(`${channel} ${epoch}:${offset} ${body}`)
  /** What the publish script sends on the channel's pub/sub channel. */
  const send = (channel: string, offset: number, epoch = 'e1') => handlers.get(keys.feed(channel))!(`${offset},${epoch},body${offset}`)
  const keep = (...offsets: number[]) => {
    for (const offset of offsets) history.bodies.set(offset, `body${offset}`)
    history.offset = Math.max(history.offset, ...offsets)
  }
  /** Lets reads answer (the first one waits, so the test can send messages meanwhile). */
  const answerReads = () => {
    const waiting = release
    release = () => {}
    waiting?.()
  }
  return { feeds, delivered, send, keep, reads, history, answerReads, handlers, keys }
}

describe('ChannelFeeds', () => {
  it('delivers a channel’s messages as they come when none is skipped, and drops a copy', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.send('room', 1)
    t.send('room', 2)
    t.send('room', 2)
    expect(t.delivered).toEqual(['room e1:1 body1', 'room e1:2 body2'])
    expect(t.reads).toEqual([])
  })

  it('starts from the position a read found, so the first message after it is in order', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.feeds.observe('room', 4, 'e1')
    t.feeds.observe('room', 9, 'e1') // only the first position counts: later reads may run ahead of pub/sub
    t.send('room', 5)
    expect(t.delivered).toEqual(['room e1:5 body5'])
  })

  it('reads what pub/sub skipped, then delivers it and what came meanwhile in order, each once', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.send('room', 1)
    t.keep(1, 2, 3, 4, 5)
    t.send('room', 4) // 2 and 3 were dropped: a repair reads after 1
    t.send('room', 5)
    t.send('room', 6)
    expect(t.delivered).toEqual(['room e1:1 body1'])
    t.answerReads()
    await vi.waitFor(() => expect(t.delivered.map((d) => d.split(' ')[1])).toEqual(['e1:1', 'e1:2', 'e1:3', 'e1:4', 'e1:5', 'e1:6']))
    expect(t.reads).toEqual([1])
  })

  it('lets a gap history cannot fill through, for the core to report', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.send('room', 1)
    t.send('room', 4)
    t.answerReads()
    await vi.waitFor(() => expect(t.delivered.map((d) => d.split(' ')[1])).toEqual(['e1:1', 'e1:4']))
    expect(t.reads).toEqual([1])
  })

  it('after an outage, catches up each channel from history without waiting for its next message', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.feeds.observe('room', 0, 'e1')
    t.keep(1, 2)
    t.answerReads()
    t.feeds.catchUp()
    await vi.waitFor(() => expect(t.delivered.map((d) => d.split(' ')[1])).toEqual(['e1:1', 'e1:2']))
  })

  it('delivers the whole history of a new epoch when it catches up after Redis lost its data', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    t.send('room', 1)
    t.history.epoch = 'e2'
    t.keep(1, 2)
    t.answerReads()
    t.feeds.catchUp()
    await vi.waitFor(() => expect(t.delivered.map((d) => d.split(' ')[1])).toEqual(['e1:1', 'e2:1', 'e2:2']))
    expect(t.reads).toEqual([1, 0])
  })

  it('ignores what is not a publish script’s message, and stops listening to a channel it unsubscribed', async () => {
    const t = setUp()
    await t.feeds.subscribe('room')
    const handler = t.handlers.get(t.keys.feed('room'))!
    for (const text of ['hello', '', '12', '1,no-body-separator']) handler(text)
    expect(t.delivered).toEqual([])
    t.feeds.unsubscribe('room')
    expect(t.handlers.has(t.keys.feed('room'))).toBe(false)
  })
})
