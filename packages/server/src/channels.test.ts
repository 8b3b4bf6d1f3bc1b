import { describe, expect, it, vi } from 'vitest'
import type { HistoryPage } from './adapters/adapter.js'
import { ChannelRegistry, compilePattern, type ChannelInterest } from './channels.js'
import { Session } from './session.js'
import type { SessionConfig } from './session-config.js'

const config: SessionConfig = {
  batch: { maxFrames: 64, maxBytes: 1_000_000 },
  replayBufferFrames: 100,
  replayBufferBytes: 1_000_000,
  maxPendingRequests: 10_000,
  maxPendingBytes: 16_000_000,
  heartbeatMs: 1_000,
  recoveryMs: 5_000,
  dispatch: () => {},
  onEnd: () => {},
  logger: undefined,
}

const EMPTY: HistoryPage = { offset: 0, epoch: 'e1', messages: [] }
/** History that holds nothing: these tests never fill a session's buffer. */
const noHistory = () => EMPTY

let nextId = 0
/** A real Session with no transport: the registry only calls `sendMessage`. */
const newSession = () => new Session(`s${++nextId}`, 'token', null, config)

/** An adapter's interest half that writes down what it was told: `+channel`, `-channel`. */
function recordInterest(): ChannelInterest & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    subscribe: (channel) => void calls.push(`+${channel}`),
    unsubscribe: (channel) => void calls.push(`-${channel}`),
    history: noHistory,
  }
}
const newRegistry = (interest: ChannelInterest = recordInterest()) => new ChannelRegistry(interest)

/** Joins and opens at once, as a subscribe with nothing to catch up on does. */
function subscribe(registry: ChannelRegistry, channel: string, session: Session, page = EMPTY) {
  return registry.join(channel, session).open(null, page)
}

describe('compilePattern', () => {
  it.each([
    ['room:*', 'room:a', true],
    ['room:*', 'room:lobby-1', true],
    ['room:*', 'room:', false],
    ['room:*', 'room:a:b', false],
    ['room:*', 'room', false],
    ['room:*', 'xroom:a', false],
    ['room:*', 'room:a\n', true], // a newline is not ':'; `$` without the m flag is the real end
    ['news', 'news', true],
    ['news', 'news:1', false],
    ['news', 'newsy', false],
    ['a:*:b:*', 'a:1:b:2', true],
    ['a:*:b:*', 'a:1:c:2', false],
    ['a:*:b:*', 'a::b:2', false],
    ['a:*:b:*', 'a:1:b:2:3', false],
    ['*', 'anything', true],
    ['*', 'a:b', false],
    ['user.*', 'user.42', true],
    ['x*y', 'xay', true],
    ['x*y', 'xy', false],
  ])('%s against %j is %s', (pattern, channel, matches) => {
    expect(compilePattern(pattern).test(channel)).toBe(matches)
  })

  it.each([
    ['a.b', 'a.b', 'axb'],
    ['v1+', 'v1+', 'v11'],
    ['list[0]', 'list[0]', 'list0'],
    ['(g)', '(g)', 'g'],
    ['q?', 'q?', 'q'],
    ['^s$', '^s$', 's'],
    ['a|b', 'a|b', 'a'],
    ['{x}', '{x}', 'x'],
    ['back\\slash', 'back\\slash', 'backslash'],
    ['price.$*', 'price.$10', 'priceX$10'],
  ])('treats regex syntax in %j literally', (pattern, literal, wouldMatchIfRegex) => {
    const regex = compilePattern(pattern)
    expect(regex.test(literal)).toBe(true)
    expect(regex.test(wouldMatchIfRegex)).toBe(false)
  })

  it('matches each * against one segment part of its own', () => {
    const regex = compilePattern('game:*:player:*')
    expect(regex.test('game:7:player:ann')).toBe(true)
    expect(regex.test('game:7:player:')).toBe(false)
    expect(regex.test('game::player:ann')).toBe(false)
    expect(regex.test('game:7:x:player:ann')).toBe(false)
  })
})

describe('ChannelRegistry.define', () => {
  it('refuses the same pattern twice', () => {
    const registry = newRegistry()
    registry.define('room:*', {})
    expect(() => registry.define('room:*', { historySize: 5 })).toThrow(TypeError)
    expect(() => registry.define('room:*', {})).toThrow('defined twice')
  })

  it('refuses an empty pattern', () => {
    const registry = newRegistry()
    expect(() => registry.define('', {})).toThrow(TypeError)
    expect(registry.match('')).toBeUndefined()
  })

  it('keeps the options it was given', () => {
    const registry = newRegistry()
    const options = { historySize: 7, clientPublish: false }
    registry.define('room:*', options)
    expect(registry.match('room:a')).toMatchObject({ pattern: 'room:*', options })
  })

  it('refuses a slowConsumer policy it does not know, naming the ones it does', () => {
    const registry = newRegistry()
    expect(() => registry.define('room:*', { slowConsumer: 'drop' as never })).toThrow(
      'slowConsumer must be one of catch-up, latest, end; got "drop"',
    )
    expect(registry.match('room:a')).toBeUndefined()
  })

  it('gives each subscription its channel’s slowConsumer policy, catch-up by default', () => {
    const registry = newRegistry()
    registry.define('prices:*', { slowConsumer: 'latest' })
    registry.define('strict:*', { slowConsumer: 'end' })
    registry.define('room:*', {})
    const a = newSession()
    expect(['prices:x', 'strict:x', 'room:x'].map((c) => registry.join(c, a).policy)).toEqual(['latest', 'end', 'catch-up'])
  })
})

describe('ChannelRegistry.match', () => {
  it('returns the first definition, in declaration order, that matches', () => {
    const registry = newRegistry()
    registry.define('room:vip', { historySize: 1 })
    registry.define('room:*', { historySize: 2 })
    registry.define('room:lobby', { historySize: 3 })
    expect(registry.match('room:vip')?.pattern).toBe('room:vip')
    expect(registry.match('room:other')?.pattern).toBe('room:*')
    // Declared after the wildcard, so the wildcard wins.
    expect(registry.match('room:lobby')?.pattern).toBe('room:*')
  })

  it('returns undefined when nothing matches', () => {
    const registry = newRegistry()
    registry.define('room:*', {})
    expect(registry.match('chat:a')).toBeUndefined()
    expect(registry.match('room:a:b')).toBeUndefined()
  })
})

describe('ChannelRegistry subscriptions', () => {
  it('join records the subscriber on both sides', () => {
    const registry = newRegistry()
    const s = newSession()
    subscribe(registry, 'room:a', s)
    expect(registry.subscriberCount('room:a')).toBe(1)
    expect([...registry.channelsOf(s)]).toEqual(['room:a'])
  })

  it('joining the same session twice counts it once', () => {
    const registry = newRegistry()
    const s = newSession()
    subscribe(registry, 'room:a', s)
    subscribe(registry, 'room:a', s)
    expect(registry.subscriberCount('room:a')).toBe(1)
    expect(registry.channelsOf(s).size).toBe(1)
  })

  it('counts subscribers per channel', () => {
    const registry = newRegistry()
    const [a, b, c] = [newSession(), newSession(), newSession()]
    subscribe(registry, 'room:1', a)
    subscribe(registry, 'room:1', b)
    subscribe(registry, 'room:2', c)
    subscribe(registry, 'room:2', a)
    expect(registry.subscriberCount('room:1')).toBe(2)
    expect(registry.subscriberCount('room:2')).toBe(2)
    expect(registry.subscriberCount('room:3')).toBe(0)
    expect([...registry.channelsOf(a)].sort()).toEqual(['room:1', 'room:2'])
  })

  it('leave takes the channel off the session and the count', () => {
    const registry = newRegistry()
    const [a, b] = [newSession(), newSession()]
    subscribe(registry, 'room:1', a)
    subscribe(registry, 'room:1', b)
    subscribe(registry, 'room:2', a)
    registry.leave('room:1', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...registry.channelsOf(a)]).toEqual(['room:2'])
    expect([...registry.channelsOf(b)]).toEqual(['room:1'])
    registry.leave('room:1', b)
    expect(registry.subscriberCount('room:1')).toBe(0)
    expect(registry.channelsOf(b).size).toBe(0)
  })

  it('leave of something never joined changes nothing', () => {
    const registry = newRegistry()
    const [a, b] = [newSession(), newSession()]
    subscribe(registry, 'room:1', a)
    registry.leave('room:1', b)
    registry.leave('room:9', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...registry.channelsOf(a)]).toEqual(['room:1'])
  })

  it('removeAll drops every subscription of one session and no other', () => {
    const registry = newRegistry()
    const [a, b] = [newSession(), newSession()]
    for (const ch of ['room:1', 'room:2', 'room:3']) subscribe(registry, ch, a)
    subscribe(registry, 'room:2', b)
    registry.removeAll(a)
    expect(registry.channelsOf(a).size).toBe(0)
    expect(registry.subscriberCount('room:1')).toBe(0)
    expect(registry.subscriberCount('room:2')).toBe(1)
    expect(registry.subscriberCount('room:3')).toBe(0)
    expect([...registry.channelsOf(b)]).toEqual(['room:2'])
  })

  it('a channel can be subscribed again after its last subscriber left', () => {
    const registry = newRegistry()
    const a = newSession()
    subscribe(registry, 'room:1', a)
    registry.removeAll(a)
    subscribe(registry, 'room:1', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...registry.channelsOf(a)]).toEqual(['room:1'])
  })

  it('deliver hands the body to the subscribers of that channel only', () => {
    const registry = newRegistry()
    const [a, b, c] = [newSession(), newSession(), newSession()]
    subscribe(registry, 'room:1', a)
    subscribe(registry, 'room:1', b)
    subscribe(registry, 'room:2', c)
    registry.deliver('room:1', 1, 'e1', '"room:1",{"n":1},1')
    registry.deliver('room:9', 1, 'e1', '"room:9",{"n":1},1')
    // Each session buffers the frame until its client acks it.
    expect([a.unacked, b.unacked, c.unacked]).toEqual([1, 1, 0])
  })
})

describe('ChannelRegistry interest', () => {
  it("tells the adapter of a channel's first subscriber and of its last leaving, once each", () => {
    const interest = recordInterest()
    const registry = newRegistry(interest)
    const [a, b] = [newSession(), newSession()]
    subscribe(registry, 'room:1', a)
    subscribe(registry, 'room:1', b)
    subscribe(registry, 'room:2', a)
    registry.leave('room:1', a)
    expect(interest.calls).toEqual(['+room:1', '+room:2'])
    registry.removeAll(b)
    registry.removeAll(a)
    subscribe(registry, 'room:1', a)
    expect(interest.calls).toEqual(['+room:1', '+room:2', '-room:1', '-room:2', '+room:1'])
  })

  it('makes joiners wait for an asynchronous subscribe, and forgets it once settled', async () => {
    let settle = () => {}
    const registry = newRegistry({ subscribe: () => new Promise<void>((resolve) => (settle = resolve)), unsubscribe: () => {}, history: noHistory })
    registry.join('room:1', newSession())
    registry.join('room:1', newSession())
    const ready = registry.ready('room:1')
    expect(ready).toBeInstanceOf(Promise)
    settle()
    await ready
    expect(registry.ready('room:1')).toBeUndefined()
  })

  it('fails every joiner of a channel whose subscribe failed, until the channel empties and is tried again', async () => {
    const attempts: string[] = []
    const registry = newRegistry({
      subscribe: (channel) => {
        attempts.push(channel)
        if (attempts.length === 1) return Promise.reject(new Error('broker down'))
        return Promise.resolve()
      },
      unsubscribe: () => {},
      history: noHistory,
    })
    const [a, b] = [newSession(), newSession()]
    registry.join('room:1', a)
    await expect(registry.ready('room:1')).rejects.toThrow('broker down')
    registry.join('room:1', b)
    await expect(registry.ready('room:1')).rejects.toThrow('broker down')
    registry.leave('room:1', a)
    registry.leave('room:1', b)
    registry.join('room:1', a)
    await expect(registry.ready('room:1')).resolves.toBeUndefined()
    expect(attempts).toEqual(['room:1', 'room:1'])
  })

  it('logs an unsubscribe that fails, synchronously or not, and throws nothing', async () => {
    const logger = vi.fn()
    let calls = 0
    const registry = new ChannelRegistry(
      {
        subscribe: () => {},
        unsubscribe: () => {
          if (++calls === 1) throw new Error('sync failure')
          return Promise.reject(new Error('async failure'))
        },
        history: noHistory,
      },
      logger,
    )
    const a = newSession()
    for (let i = 0; i < 2; i++) {
      subscribe(registry, 'room:1', a)
      expect(() => registry.leave('room:1', a)).not.toThrow()
    }
    await vi.waitFor(() => expect(logger).toHaveBeenCalledTimes(2))
    expect(logger.mock.calls.map(([e]) => [e.kind, (e.data as Error).message])).toEqual([
      ['channel', 'sync failure'],
      ['channel', 'async failure'],
    ])
  })
})

describe('Subscription', () => {
  const body = (n: number) => `"room:1",${n},${n}`

  it('holds live messages until it opens, then sends those past the catch-up, once, in order', () => {
    const registry = newRegistry()
    const a = newSession()
    const subscription = registry.join('room:1', a)
    registry.deliver('room:1', 3, 'e1', body(3))
    registry.deliver('room:1', 4, 'e1', body(4))
    expect(a.unacked).toBe(0)
    const result = subscription.open(null, { offset: 3, epoch: 'e1', messages: [] })
    expect(result).toEqual({ offset: 4, epoch: 'e1', recovered: true })
    expect(a.unacked).toBe(1) // 3 was before the subscription began
  })

  it('drops a live message the catch-up already sent, and sends the next ones in order', () => {
    const registry = newRegistry()
    const a = newSession()
    registry.join('room:1', a).open(null, { offset: 5, epoch: 'e1', messages: [{ offset: 5, body: body(5) }] })
    expect(a.unacked).toBe(1)
    registry.deliver('room:1', 5, 'e1', body(5)) // late: history already had it
    expect(a.unacked).toBe(1)
    registry.deliver('room:1', 6, 'e1', body(6))
    registry.deliver('room:1', 7, 'e1', body(7))
    expect(a.unacked).toBe(3)
  })

  it.each([
    ['skips an offset (the broker lost messages)', 8, 'e1'],
    ['starts a new epoch (the broker lost its data)', 1, 'e2'],
  ])('replaces the session with ADAPTER_UNAVAILABLE when a live message %s, so its channels resubscribe', (_case, offset, epoch) => {
    const ended: string[] = []
    const endable = (id: string) => new Session(id, 'token', null, { ...config, onEnd: (s, code) => void ended.push(`${s.id} ${code}`) })
    const [a, b, other] = [endable('a'), endable('b'), endable('other')]
    const registry = newRegistry()
    for (const session of [a, b]) registry.join('room:1', session).open(null, { offset: 6, epoch: 'e1', messages: [] })
    registry.join('room:2', other).open(null, EMPTY)
    registry.deliver('room:1', offset, epoch, body(offset))
    expect(ended).toEqual(['a ADAPTER_UNAVAILABLE', 'b ADAPTER_UNAVAILABLE'])
    expect(a.unacked + b.unacked).toBe(0)
    registry.deliver('room:2', 1, 'e1', body(1)) // another channel's stream is whole
    expect(other.unacked).toBe(1)
  })

  it('tells its subscribe that the session left meanwhile', () => {
    const registry = newRegistry()
    const a = newSession()
    const subscription = registry.join('room:1', a)
    registry.removeAll(a)
    expect(subscription.closed).toBe(true)
  })
})
