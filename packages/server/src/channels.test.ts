import { describe, expect, it } from 'vitest'
import { ChannelRegistry, compilePattern } from './channels.js'
import { Session, type SessionConfig } from './session.js'

const config: SessionConfig = {
  batch: { maxFrames: 64, maxBytes: 1_000_000 },
  replayBufferFrames: 100,
  replayBufferBytes: 1_000_000,
  heartbeatMs: 1_000,
  recoveryMs: 5_000,
  dispatch: () => {},
  onEnd: () => {},
  logger: undefined,
}

let nextId = 0
/** A real Session with no transport: the registry only touches `subscriptions` and `sendMessage`. */
const newSession = () => new Session(`s${++nextId}`, 'token', null, config)

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
    const registry = new ChannelRegistry()
    registry.define('room:*', {})
    expect(() => registry.define('room:*', { historySize: 5 })).toThrow(TypeError)
    expect(() => registry.define('room:*', {})).toThrow('defined twice')
  })

  it('refuses an empty pattern', () => {
    const registry = new ChannelRegistry()
    expect(() => registry.define('', {})).toThrow(TypeError)
    expect(registry.match('')).toBeUndefined()
  })

  it('keeps the options it was given', () => {
    const registry = new ChannelRegistry()
    const options = { historySize: 7, clientPublish: false }
    registry.define('room:*', options)
    expect(registry.match('room:a')).toMatchObject({ pattern: 'room:*', options })
  })
})

describe('ChannelRegistry.match', () => {
  it('returns the first definition, in declaration order, that matches', () => {
    const registry = new ChannelRegistry()
    registry.define('room:vip', { historySize: 1 })
    registry.define('room:*', { historySize: 2 })
    registry.define('room:lobby', { historySize: 3 })
    expect(registry.match('room:vip')?.pattern).toBe('room:vip')
    expect(registry.match('room:other')?.pattern).toBe('room:*')
    // Declared after the wildcard, so the wildcard wins.
    expect(registry.match('room:lobby')?.pattern).toBe('room:*')
  })

  it('returns undefined when nothing matches', () => {
    const registry = new ChannelRegistry()
    registry.define('room:*', {})
    expect(registry.match('chat:a')).toBeUndefined()
    expect(registry.match('room:a:b')).toBeUndefined()
  })
})

describe('ChannelRegistry subscriptions', () => {
  it('add records the subscriber on both sides', () => {
    const registry = new ChannelRegistry()
    const s = newSession()
    registry.add('room:a', s)
    expect(registry.subscriberCount('room:a')).toBe(1)
    expect([...s.subscriptions]).toEqual(['room:a'])
  })

  it('adding the same session twice counts it once', () => {
    const registry = new ChannelRegistry()
    const s = newSession()
    registry.add('room:a', s)
    registry.add('room:a', s)
    expect(registry.subscriberCount('room:a')).toBe(1)
    expect(s.subscriptions.size).toBe(1)
  })

  it('counts subscribers per channel', () => {
    const registry = new ChannelRegistry()
    const [a, b, c] = [newSession(), newSession(), newSession()]
    registry.add('room:1', a)
    registry.add('room:1', b)
    registry.add('room:2', c)
    registry.add('room:2', a)
    expect(registry.subscriberCount('room:1')).toBe(2)
    expect(registry.subscriberCount('room:2')).toBe(2)
    expect(registry.subscriberCount('room:3')).toBe(0)
    expect([...a.subscriptions].sort()).toEqual(['room:1', 'room:2'])
  })

  it('remove takes the channel off the session and the count', () => {
    const registry = new ChannelRegistry()
    const [a, b] = [newSession(), newSession()]
    registry.add('room:1', a)
    registry.add('room:1', b)
    registry.add('room:2', a)
    registry.remove('room:1', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...a.subscriptions]).toEqual(['room:2'])
    expect([...b.subscriptions]).toEqual(['room:1'])
    registry.remove('room:1', b)
    expect(registry.subscriberCount('room:1')).toBe(0)
    expect(b.subscriptions.size).toBe(0)
  })

  it('remove of something never added changes nothing', () => {
    const registry = new ChannelRegistry()
    const [a, b] = [newSession(), newSession()]
    registry.add('room:1', a)
    registry.remove('room:1', b)
    registry.remove('room:9', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...a.subscriptions]).toEqual(['room:1'])
  })

  it('removeAll drops every subscription of one session and no other', () => {
    const registry = new ChannelRegistry()
    const [a, b] = [newSession(), newSession()]
    for (const ch of ['room:1', 'room:2', 'room:3']) registry.add(ch, a)
    registry.add('room:2', b)
    registry.removeAll(a)
    expect(a.subscriptions.size).toBe(0)
    expect(registry.subscriberCount('room:1')).toBe(0)
    expect(registry.subscriberCount('room:2')).toBe(1)
    expect(registry.subscriberCount('room:3')).toBe(0)
    expect([...b.subscriptions]).toEqual(['room:2'])
  })

  it('a channel can be subscribed again after its last subscriber left', () => {
    const registry = new ChannelRegistry()
    const a = newSession()
    registry.add('room:1', a)
    registry.removeAll(a)
    registry.add('room:1', a)
    expect(registry.subscriberCount('room:1')).toBe(1)
    expect([...a.subscriptions]).toEqual(['room:1'])
  })

  it('deliver hands the body to the subscribers of that channel only', () => {
    const registry = new ChannelRegistry()
    const [a, b, c] = [newSession(), newSession(), newSession()]
    registry.add('room:1', a)
    registry.add('room:1', b)
    registry.add('room:2', c)
    registry.deliver('room:1', '"room:1",{"n":1},1')
    registry.deliver('room:9', '"room:9",{"n":1},1')
    // Each session buffers the frame until its client acks it.
    expect([a.unacked, b.unacked, c.unacked]).toEqual([1, 1, 0])
  })
})
