// Tabs of one origin sharing one connection: one session for eight tabs over every transport, a
// follower's events, which tabs share, and the failure paths. Tabs are simulated in Node (see
// test/helpers/tabs.ts); the other tab tests are tabs-channels.test.ts and tabs-takeover.test.ts.
import type { ClientOptions } from '@switchboard/client'
import { SwitchboardError } from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import { FakeLocks, fakeTabEnvironment } from '../packages/client/src/tabs/environment.fakes.js'
import { startServer } from './helpers/fixture.js'
import { subscribeAll, useTabServer } from './helpers/tabs.js'

const setup = useTabServer()
const { group, openTab } = setup

const sessionsNow = () => setup.server.sb.sessionCount

describe.each(['websocket', 'sse', 'long-polling'] as const)('eight tabs over %s', (transport) => {
  it('share one session: each tab publishes, every tab receives every message once, in order', async () => {
    const before = sessionsNow()
    const g = group()
    const tabs = Array.from({ length: 8 }, () => g.tab({ transports: [transport] }))
    await Promise.all(tabs.map(({ client }) => client.ready()))
    expect(sessionsNow() - before).toBe(1)
    const ids = new Set(tabs.map(({ client }) => client.sessionId))
    expect(ids.size).toBe(1)
    for (const { client } of tabs) expect(client.transport).toBe(transport)

    const name = `room:tabs-${transport}`
    const seen = await subscribeAll(tabs, name)
    const published = await Promise.all(tabs.map(({ client }, i) => client.channel(name).publish(`from ${i}`)))
    expect(published.map((p) => p.offset).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    await vi.waitFor(() => {
      for (const list of seen) expect(list).toHaveLength(8)
    })
    for (const list of seen) {
      expect(list.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(list).toEqual(seen[0])
    }
  })
})

describe('a follower tab', () => {
  it('sees state, transport and ready() as with a connection of its own', async () => {
    const g = group()
    const leader = g.tab({ transports: ['sse'] })
    await leader.client.ready()
    const follower = g.tab({ transports: ['sse'] })
    await follower.client.ready()
    expect(follower.states.map((s) => `${s.from}->${s.to}`)).toEqual(['idle->connecting', 'connecting->open'])
    expect(follower.transports).toEqual(['sse'])
    expect(follower.client.state).toBe('open')
    expect(follower.client.sessionId).toBe(leader.client.sessionId)
    expect(await follower.client.call('add', { a: 2, b: 40 })).toBe(42)
  })

  it('gets the server’s error codes for its own requests', async () => {
    const g = group()
    const { client } = g.tab()
    const refused = await client.call('fail', null).catch((e: SwitchboardError) => e)
    expect(refused).toMatchObject({ code: 'RPC_ERROR', data: { why: 'testing' } })
    expect(refused).toBeInstanceOf(SwitchboardError)
    await expect(client.channel('private:x').subscribe()).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(client.channel('nowhere').subscribe()).rejects.toMatchObject({ code: 'UNKNOWN_CHANNEL' })
    expect(client.channel('nowhere').state).toBe('unsubscribed')
  })
})

describe('which tabs share', () => {
  it('tabs with different tokens, scopes or transports never share; `false`, or no page, keeps a connection of its own', async () => {
    const users = await startServer({ authenticate: (c) => ({ user: c.req.header('authorization') ?? 'anon' }) })
    try {
      const locks = new FakeLocks()
      const env = fakeTabEnvironment(locks)
      const tab = (options: ClientOptions) => openTab(env, { shareAcrossTabs: true, ...options }, users.url).client
      const ada = [tab({ headers: { authorization: 'ada' } }), tab({ headers: () => ({ Authorization: 'ada' }) })]
      const bob = tab({ headers: { authorization: 'bob' } })
      const scoped = tab({ headers: { authorization: 'ada' }, shareAcrossTabs: { scope: 'other' } })
      const forced = tab({ headers: { authorization: 'ada' }, transports: ['sse'] })
      const alone = tab({ headers: { authorization: 'ada' }, shareAcrossTabs: false })
      // The default outside a page (Node has no document): a connection of its own.
      const noPage = tab({ headers: { authorization: 'ada' }, shareAcrossTabs: undefined })
      const all = [...ada, bob, scoped, forced, alone, noPage]
      await Promise.all(all.map((c) => c.ready()))
      expect(users.sb.sessionCount).toBe(6)
      expect(ada[0]!.sessionId).toBe(ada[1]!.sessionId)
      expect(new Set(all.map((c) => c.sessionId)).size).toBe(6)
      expect(await ada[1]!.call('whoami', null)).toEqual({ user: 'ada' })
      expect(await bob.call('whoami', null)).toEqual({ user: 'bob' })
      for (const c of all) c.close()
    } finally {
      await users.close()
    }
  })

  it('a refusal the server states as final closes every tab of the group with its code', async () => {
    const refusing = await startServer({ authenticate: () => false })
    try {
      const env = fakeTabEnvironment(new FakeLocks())
      const tabs = [openTab(env, { shareAcrossTabs: true }, refusing.url).client, openTab(env, { shareAcrossTabs: true }, refusing.url).client]
      for (const client of tabs) {
        await expect(client.ready()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
        expect(client.state).toBe('closed')
        await expect(client.call('echo', 1)).rejects.toMatchObject({ code: 'CLOSED' })
        await expect(client.channel('room:x').publish(1)).rejects.toMatchObject({ code: 'CLOSED' })
        await client.drained()
      }
    } finally {
      await refusing.close()
    }
  })
})

describe('failure paths', () => {
  it('while no tab leads, requests wait and time out with TIMEOUT', async () => {
    const locks = new FakeLocks()
    const g = group(locks)
    // Another holder keeps the group's lock and runs no hub: nobody answers.
    const probe = g.tab()
    await probe.client.ready()
    const leaderLock = locks.held.find((name) => !name.includes(':member:'))!
    probe.client.close()
    let release!: () => void
    void locks.request(leaderLock, {}, () => new Promise<void>((r) => (release = r)))
    const { client } = g.tab()
    try {
      await expect(client.call('echo', 1, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' })
      expect(client.state).toBe('connecting')
    } finally {
      release()
    }
    await client.ready()
    expect(await client.call('echo', 2)).toBe(2)
  })

  it('ignores anything else said on the group’s channels', async () => {
    const g = group()
    const { client, sessions } = g.tab()
    await client.ready()
    const names = g.locks.held.filter((name) => name.includes(':member:')).map((name) => name.replace(/:member:.*/, ''))
    for (const suffix of [':up', ':down']) {
      const other = new BroadcastChannel(`${names[0]}${suffix}`)
      const junks: unknown[] = [
        null,
        42,
        'x',
        { t: 'req' },
        { t: 'reply', hub: 'nobody', to: 'x', id: 1 },
        { hub: 'h', t: 'msg' },
        { from: 1, t: 'join' },
      ]
      junks.push(
        { hub: 'h', t: 'status' },
        { hub: 'h', t: 'state', state: 'nowhere', sessionId: null },
        { hub: 'h', t: 'status', state: 'open', sessionId: 7 },
      )
      for (const junk of junks) other.postMessage(junk)
      other.close()
    }
    expect(await client.call('echo', 'still fine')).toBe('still fine')
    expect(client.state).toBe('open')
    expect(sessions).toEqual([])
  })
})
