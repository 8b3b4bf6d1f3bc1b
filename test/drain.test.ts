import type { SwitchboardClient } from '@switchboard/client'
import { createSwitchboard, listen, type Switchboard } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'

/**
 * Graceful drain: `sb.close()` while a client streams both ways. The old server flushes what it
 * owes and the exact ack of what it processed, then CLOSE with "come back in N ms"; the client
 * moves to a new server and carries over the requests the old one never processed.
 * Nothing the old server accepted or sent is lost, nothing is processed twice.
 *
 * A router stands in for a load balancer: negotiate goes to the newest server, everything else
 * to the server that created the session (so a returning client hears the old one's final words).
 */
type Numbered = { n: number }

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function cluster(processed: number[]) {
  const backends: { sb: Switchboard; app: Hono }[] = []
  const owner = new Map<string, Hono>()
  const addBackend = () => {
    const sb = createSwitchboard({ heartbeatMs: 1_000 })
    sb.channel('room:*', {
      onPublish: (data) => {
        processed.push((data as Numbered).n)
        return data
      },
    })
    const app = new Hono().route('/rt', sb.app)
    backends.push({ sb, app })
    return sb
  }
  const router = new Hono()
  router.all('/rt/*', async (c) => {
    const newest = backends.at(-1)!.app
    if (c.req.path === '/rt/negotiate') {
      const res = await newest.fetch(c.req.raw, c.env)
      if (res.ok) owner.set(((await res.clone().json()) as { sessionId: string }).sessionId, newest)
      return res
    }
    return (owner.get(c.req.query('sid') ?? '') ?? newest).fetch(c.req.raw, c.env)
  })
  const first = addBackend()
  const server = await listen(router)
  cleanups.push(async () => {
    for (const b of backends) await b.sb.close()
    await server.close()
  })
  return { first, addBackend, url: `${server.url}/rt` }
}

describe.each(['websocket', 'sse', 'long-polling'] as const)('graceful drain over %s', (transport) => {
  it('moves the client to a new server: every publish processed exactly once, everything sent before the close delivered', async () => {
    const processed: number[] = []
    const { first, addBackend, url } = await cluster(processed)
    const client: SwitchboardClient = connectClient(url, transport)
    cleanups.push(() => client.close())
    const fromServer: number[] = []
    const sessions: { resumed: boolean; reason?: string }[] = []
    client.on('session', (e) => sessions.push(e))
    client.channel<Numbered & { from?: string }>('room:drain').on('message', ({ data }) => data.from === 'server' && fromServer.push(data.n))
    await client.ready()
    await client.channel('room:drain').subscribe()

    // Client -> server: publishes keep flowing, up to 100 awaiting their ack, across the drain.
    let sent = 0
    const acked: Promise<unknown>[] = []
    const up = (async () => {
      while (sent < 1_500) {
        acked.push(client.channel<Numbered>('room:drain').publish({ n: sent++ }))
        if (acked.length % 100 === 0) await Promise.all(acked.slice(-100))
        if (sent % 25 === 0) await new Promise((r) => setTimeout(r, 5))
      }
    })()
    // Server -> client: the old server publishes until it closes.
    let published = 0
    for (; published < 300; published++) await first.publish('room:drain', { from: 'server', n: published })
    while (sent < 500) await new Promise((r) => setTimeout(r, 5))

    addBackend()
    await first.close({ reconnectMs: 50 })
    await up
    const results = await Promise.allSettled(acked)
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    expect(processed).toEqual(Array.from({ length: sent }, (_, i) => i))
    await expect.poll(() => fromServer.length, { timeout: 5_000 }).toBe(published)
    expect(fromServer).toEqual(Array.from({ length: published }, (_, i) => i))
    expect(sessions).toEqual([{ sessionId: expect.any(String), resumed: false, reason: 'SERVER_SHUTDOWN' }])
    expect(client.state).toBe('open')
  })
})
