// Channels held by several tabs of one shared connection: the session subscribes once, each tab
// gets its own catch-up and then every message once, in order. Tabs simulated in Node (see
// test/helpers/tabs.ts).
import { describe, expect, it, vi } from 'vitest'
import { subscribeAll, useTabServer } from './helpers/tabs.js'

const setup = useTabServer()
const { group } = setup

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

describe('channels shared by several tabs', () => {
  it('stay subscribed on the session until the last tab lets go, and each tab stops at its own unsubscribe', async () => {
    const g = group()
    const [a, b] = [g.tab(), g.tab()]
    await Promise.all([a.client.ready(), b.client.ready()])
    const name = 'room:refcount'
    const [seenA, seenB] = await subscribeAll([a, b], name)
    await a.client.channel(name).unsubscribe()
    await setup.server.sb.publish(name, 'only b')
    await vi.waitFor(() => expect(seenB!.map((m) => m.data)).toEqual(['only b']))
    expect(seenA).toEqual([])
    // A tab that closes lets go too: b's channel is the only one left, and stays.
    const c = g.tab()
    const [seenC] = await subscribeAll([c], name)
    c.client.close()
    await setup.server.sb.publish(name, 'still b')
    await vi.waitFor(() => expect(seenB!.map((m) => m.data)).toEqual(['only b', 'still b']))
    expect(seenC).toEqual([])
  })

  it('a subscribe undone while it waits its turn never leaves: the session does not stay subscribed', async () => {
    const g = group()
    const [a, b] = [g.tab(), g.tab()]
    await Promise.all([a.client.ready(), b.client.ready()])
    // What the hub tells the tabs, heard on the group's own channel.
    const base = g.locks.held.find((lock) => lock.includes(':member:'))!.replace(/:member:.*/, '')
    const heard: string[] = []
    const spy = new BroadcastChannel(`${base}:down`)
    spy.onmessage = (event) => event.data.t === 'msg' && heard.push(event.data.channel)
    try {
      const name = 'room:undone'
      // b's subscribe waits behind a's; both let go before a's is answered.
      const settled = Promise.all([
        a.client.channel(name).subscribe(),
        b.client.channel(name).subscribe(),
        a.client.channel(name).unsubscribe(),
        b.client.channel(name).unsubscribe(),
      ])
      await settled
      await a.client.channel('room:undone-probe').subscribe()
      await setup.server.sb.publish(name, 'after everyone left')
      await setup.server.sb.publish('room:undone-probe', 'probe')
      await vi.waitFor(() => expect(heard).toContain('room:undone-probe'))
      expect(heard).toEqual(['room:undone-probe'])
    } finally {
      spy.close()
    }
  })

  it('a newcomer gets its own catch-up (`recent`) while the others see nothing twice', async () => {
    const g = group()
    const first = g.tab()
    const name = 'room:catch-up'
    const [seenFirst] = await subscribeAll([first], name)
    for (const text of ['a', 'b', 'c']) await setup.server.sb.publish(name, text)
    await vi.waitFor(() => expect(seenFirst).toHaveLength(3))
    const late = g.tab()
    const seenLate: unknown[] = []
    late.client.channel(name).on('message', ({ data }) => seenLate.push(data))
    await late.client.channel(name).subscribe({ recent: 2 })
    await setup.server.sb.publish(name, 'd')
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
        await setup.server.sb.publish(name, ++published)
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
