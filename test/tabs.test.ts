// Tabs sharing one connection, simulated in Node: each "tab" is a client whose environment is
// Node's own BroadcastChannel and an in-process stand-in for Web Locks (Node 20 has none); the
// server is real and every line crosses loopback. Closing the leader tab is its client's close():
// its hub goes silent and its locks come free, as when a browser closes the tab (the browser tests
// in test/browser/tabs.test.ts close real tabs).
import { SwitchboardClient, type ClientOptions, type SessionChange, type StateChange, type TransportName } from '@switchboard/client'
import { SwitchboardError } from '@switchboard/protocol'
import { WebSocket } from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FakeLocks, fakeTabEnvironment } from '../packages/client/src/tabs/environment.fakes.js'
import type { TabEnvironment } from '../packages/client/src/tabs/environment.js'
import { startServer, type TestServer } from './helpers/fixture.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.close())

const open: SwitchboardClient[] = []
afterEach(() => {
  for (const client of open.splice(0)) client.close()
})

let scopes = 0
/** A fresh group: tabs made with it share with each other only. */
function group(locks = new FakeLocks()) {
  const scope = `group-${++scopes}`
  const env = fakeTabEnvironment(locks)
  return { locks, env, scope, tab: (options: ClientOptions = {}) => openTab(env, { shareAcrossTabs: { scope }, ...options }) }
}

/** One tab: a client on `env`, recording its events. */
function openTab(env: TabEnvironment, options: ClientOptions, url = server.url) {
  class TabClient extends SwitchboardClient {
    protected static override tabEnvironment(): TabEnvironment {
      return env
    }
  }
  const client = new TabClient(url, {
    WebSocket: WebSocket as unknown as ClientOptions['WebSocket'],
    attemptTimeoutMs: 3_000,
    reconnect: { baseMs: 50, maxMs: 500 },
    rememberTransportMs: 0,
    ...options,
  })
  const states: StateChange[] = []
  const sessions: SessionChange[] = []
  const transports: (TransportName | null)[] = []
  client.on('state', (change) => states.push(change))
  client.on('session', (change) => sessions.push(change))
  client.on('transport', ({ to }) => transports.push(to))
  client.open()
  open.push(client)
  return { client, states, sessions, transports }
}

/** Subscribes every tab to `name` and collects `data` in arrival order, with offsets. */
async function subscribeAll(tabs: { client: SwitchboardClient }[], name: string) {
  const seen = tabs.map(() => [] as { data: unknown; offset: number }[])
  await Promise.all(
    tabs.map(({ client }, i) => {
      const channel = client.channel(name)
      channel.on('message', ({ data, offset }) => seen[i]!.push({ data, offset }))
      return channel.subscribe()
    }),
  )
  return seen
}

const sessionsNow = () => server.sb.sessionCount

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

describe('eight tabs opened together', () => {
  it.each(['sse', 'long-polling'] as const)('over %s: each subscribes and publishes at once, and every tab gets 1..8 once', async (transport) => {
    const g = group()
    const name = `room:together-${transport}`
    const tabs = Array.from({ length: 8 }, () => g.tab({ transports: [transport] }))
    const seen = tabs.map(() => [] as number[])
    await Promise.all(
      tabs.map(async ({ client }, i) => {
        const channel = client.channel(name)
        channel.on('message', ({ offset }) => seen[i]!.push(offset))
        await channel.subscribe({ recent: 100 })
        await channel.publish(`hello from ${i}`)
      }),
    )
    // And a little more, so a regressed position would let a replayed message in twice.
    await Promise.all(tabs.map(({ client }, i) => client.channel(name).publish(`again from ${i}`)))
    await vi.waitFor(() => {
      for (const list of seen) expect(list.length).toBeGreaterThanOrEqual(16)
    })
    for (const list of seen) expect(list).toEqual(Array.from({ length: 16 }, (_, i) => i + 1))
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

describe('when the leader tab closes', () => {
  it('the next tab takes over and every channel resubscribes from its own offset: nothing lost', async () => {
    const g = group()
    const tabs = Array.from({ length: 4 }, () => g.tab({ transports: ['websocket'] }))
    await Promise.all(tabs.map(({ client }) => client.ready()))
    const firstSession = tabs[0]!.client.sessionId
    const name = 'room:takeover'
    const seen = await subscribeAll(tabs, name)
    for (let i = 1; i <= 3; i++) await server.sb.publish(name, `m${i}`)
    await vi.waitFor(() => expect(seen[3]).toHaveLength(3))

    tabs[0]!.client.close()
    // Published while no tab leads: history brings them to every tab that is left.
    for (let i = 4; i <= 6; i++) await server.sb.publish(name, `m${i}`)
    const rest = tabs.slice(1)
    await vi.waitFor(() => {
      for (const { client } of rest) expect(client.state).toBe('open')
      for (const i of [1, 2, 3]) expect(seen[i]).toHaveLength(6)
    })
    for (const i of [1, 2, 3]) expect(seen[i]!.map((m) => m.data)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    for (const { client, sessions, states } of rest) {
      expect(client.sessionId).not.toBe(firstSession)
      expect(sessions).toEqual([{ sessionId: client.sessionId, resumed: false, reason: 'SESSION_LOST' }])
      expect(states.map((s) => s.to).slice(-3)).toEqual(['backoff', 'connecting', 'open'])
    }
    await rest[0]!.client.channel(name).publish('after')
    await vi.waitFor(() => {
      for (const i of [1, 2, 3]) expect(seen[i]!.at(-1)?.data).toBe('after')
    })
  })

  it('a call it had taken rejects SESSION_LOST; one made while no tab leads goes out once to the next', async () => {
    const g = group()
    const leader = g.tab()
    await leader.client.ready()
    const follower = g.tab()
    await follower.client.ready()
    const slow = follower.client.call('slow', { ms: 1_000 }).catch((e: SwitchboardError) => e)
    // The leader's hub has taken the call once the answer to a later one arrives.
    await follower.client.call('echo', 'after slow')
    leader.client.close()
    const meanwhile = follower.client.call<string, string>('echo', 'no leader yet')
    const name = 'room:meanwhile'
    const seen = (await subscribeAll([follower], name))[0]!
    const published = follower.client.channel(name).publish('published between leaders')
    expect(await slow).toMatchObject({ code: 'SESSION_LOST' })
    expect(await meanwhile).toBe('no leader yet')
    expect(await published).toEqual({ offset: 1 })
    await vi.waitFor(() => expect(seen.map((m) => m.data)).toEqual(['published between leaders']))
  })

  it('requests it took while it had no line go to the next leader: they never left', async () => {
    const proxy = await startTcpProxy({ targetPort: server.port })
    try {
      const g = group()
      const url = `${proxy.url}/rt`
      const leader = openTab(g.env, { shareAcrossTabs: { scope: g.scope }, transports: ['sse'] }, url)
      await leader.client.ready()
      const follower = openTab(g.env, { shareAcrossTabs: { scope: g.scope }, transports: ['sse'] }, url)
      await follower.client.ready()
      const name = 'room:outage'
      const [seen] = await subscribeAll([follower], name)
      proxy.setDown(true)
      await vi.waitFor(() => expect(follower.client.state).toBe('backoff'))
      const during = [follower.client.channel(name).publish('sent during the outage'), follower.client.call('echo', 'called during the outage')]
      // The leader's hub takes requests in order: once it answers drained(), it holds both.
      await follower.client.drained()
      leader.client.close()
      proxy.setDown(false)
      expect(await Promise.all(during)).toEqual([{ offset: 1 }, 'called during the outage'])
      await vi.waitFor(() => expect(seen!.map((m) => m.data)).toEqual(['sent during the outage']))
    } finally {
      await proxy.close()
    }
  })
})

describe('channels shared by several tabs', () => {
  it('stay subscribed on the session until the last tab lets go, and each tab stops at its own unsubscribe', async () => {
    const g = group()
    const [a, b] = [g.tab(), g.tab()]
    await Promise.all([a.client.ready(), b.client.ready()])
    const name = 'room:refcount'
    const [seenA, seenB] = await subscribeAll([a, b], name)
    await a.client.channel(name).unsubscribe()
    await server.sb.publish(name, 'only b')
    await vi.waitFor(() => expect(seenB!.map((m) => m.data)).toEqual(['only b']))
    expect(seenA).toEqual([])
    // A tab that closes lets go too: b's channel is the only one left, and stays.
    const c = g.tab()
    const [seenC] = await subscribeAll([c], name)
    c.client.close()
    await server.sb.publish(name, 'still b')
    await vi.waitFor(() => expect(seenB!.map((m) => m.data)).toEqual(['only b', 'still b']))
    expect(seenC).toEqual([])
  })

  it('a newcomer gets its own catch-up (`recent`) while the others see nothing twice', async () => {
    const g = group()
    const first = g.tab()
    const name = 'room:catch-up'
    const [seenFirst] = await subscribeAll([first], name)
    for (const text of ['a', 'b', 'c']) await server.sb.publish(name, text)
    await vi.waitFor(() => expect(seenFirst).toHaveLength(3))
    const late = g.tab()
    const seenLate: unknown[] = []
    late.client.channel(name).on('message', ({ data }) => seenLate.push(data))
    await late.client.channel(name).subscribe({ recent: 2 })
    await server.sb.publish(name, 'd')
    await vi.waitFor(() => expect(seenLate).toEqual(['b', 'c', 'd']))
    await vi.waitFor(() => expect(seenFirst!.map((m) => m.data)).toEqual(['a', 'b', 'c', 'd']))
  })

  it('a tab subscribing while the shared channel is busy gets its own catch-up, then every message once, in order', async () => {
    const g = group()
    const busy = g.tab()
    const name = 'room:busy'
    const [seenBusy] = await subscribeAll([busy], name)
    let published = 0
    const publishing = (async () => {
      // Fewer than the room's history (100), so `recent` can replay them all.
      while (published < 90) {
        await server.sb.publish(name, ++published)
        await new Promise((r) => setTimeout(r, 1))
      }
    })()
    // Subscribing with history, without, and from a position, while messages keep coming.
    const withRecent = g.tab()
    const without = g.tab()
    await vi.waitFor(() => expect(published).toBeGreaterThan(20))
    const seen = { recent: [] as number[], none: [] as number[] }
    withRecent.client.channel<number>(name).on('message', ({ offset }) => seen.recent.push(offset))
    without.client.channel<number>(name).on('message', ({ offset }) => seen.none.push(offset))
    let joinedAt = 0
    without.client.channel(name).on('subscribed', ({ offset }) => (joinedAt = offset))
    await Promise.all([withRecent.client.channel(name).subscribe({ recent: 1_000 }), without.client.channel(name).subscribe()])
    await publishing
    expect(joinedAt).toBeLessThan(90)
    await vi.waitFor(() => {
      expect(seen.recent.at(-1)).toBe(90)
      expect(seen.none.at(-1)).toBe(90)
    })
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
    expect(seen.recent).toEqual(range(1, 90))
    // From where it joined (a message published while its subscribe was on its way may come too, as
    // over a line of its own), every message once, in order.
    expect(seen.none[0]).toBeLessThanOrEqual(joinedAt + 1)
    expect(seen.none).toEqual(range(seen.none[0]!, 90))
    expect(seenBusy!.map((m) => m.offset)).toEqual(range(1, 90))
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
    const { client } = g.tab()
    await client.ready()
    const names = g.locks.held.filter((name) => name.includes(':member:')).map((name) => name.replace(/:member:.*/, ''))
    for (const suffix of [':up', ':down']) {
      const other = new BroadcastChannel(`${names[0]}${suffix}`)
      for (const junk of [null, 42, 'x', { t: 'req' }, { t: 'reply', hub: 'nobody', to: 'x', id: 1 }, { hub: 'h', t: 'msg' }, { from: 1, t: 'join' }])
        other.postMessage(junk)
      other.close()
    }
    expect(await client.call('echo', 'still fine')).toBe('still fine')
    expect(client.state).toBe('open')
  })
})
