// When the tab holding the shared connection closes: the next tab takes over with a new session,
// channels resubscribe from their own offsets, and requests in flight end as the docs say. Tabs
// simulated in Node (see test/helpers/tabs.ts); test/browser/tabs.test.ts closes real tabs.
import type { SwitchboardError } from '@switchboard/protocol'
import { describe, expect, it, vi } from 'vitest'
import { startServer } from './helpers/fixture.js'
import { subscribeAll, useTabServer } from './helpers/tabs.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

const setup = useTabServer()
const { group, openTab } = setup

describe('when the leader tab closes', () => {
  it('the next tab takes over and every channel resubscribes from its own offset: nothing lost', async () => {
    const g = group()
    const tabs = Array.from({ length: 4 }, () => g.tab({ transports: ['websocket'] }))
    await Promise.all(tabs.map(({ client }) => client.ready()))
    const firstSession = tabs[0]!.client.sessionId
    const name = 'room:takeover'
    const seen = await subscribeAll(tabs, name)
    for (let i = 1; i <= 3; i++) await setup.server.sb.publish(name, `m${i}`)
    await vi.waitFor(() => expect(seen[3]).toHaveLength(3))

    tabs[0]!.client.close()
    // Published while no tab leads: history brings them to every tab that is left.
    for (let i = 4; i <= 6; i++) await setup.server.sb.publish(name, `m${i}`)
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
    const proxy = await startTcpProxy({ targetPort: setup.server.port })
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

describe('when the server loses the shared session', () => {
  it('every tab reports it once, and each channel comes back from its own offset', async () => {
    const first = await startServer()
    const g = group()
    const options = { shareAcrossTabs: { scope: g.scope } }
    const tabs = [openTab(g.env, options, first.url), openTab(g.env, options, first.url)]
    await Promise.all(tabs.map(({ client }) => client.ready()))
    const seen = await subscribeAll(tabs, 'room:restart')
    await first.sb.publish('room:restart', 'before')
    await vi.waitFor(() => expect(seen[1]).toHaveLength(1))
    // The server shuts down (its sessions end, SERVER_SHUTDOWN) and comes back on the same port.
    await first.close()
    const second = await startServer({}, first.port)
    try {
      // The server said when to come back: after 1 s, spread over another second.
      await vi.waitFor(
        () => {
          for (const { sessions } of tabs) expect(sessions).toEqual([{ sessionId: expect.any(String), resumed: false, reason: 'SERVER_SHUTDOWN' }])
        },
        { timeout: 8_000 },
      )
      for (const { client } of tabs) await vi.waitFor(() => expect(client.channel('room:restart').state).toBe('subscribed'))
      await second.sb.publish('room:restart', 'after')
      await vi.waitFor(() => {
        for (const list of seen) expect(list.map((m) => m.data)).toEqual(['before', 'after'])
      })
      expect(tabs[1]!.client.sessionId).toBe(tabs[0]!.client.sessionId)
    } finally {
      for (const { client } of tabs) client.close()
      await second.close()
    }
  })
})
