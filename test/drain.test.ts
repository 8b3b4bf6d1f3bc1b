import type { ServerResponse } from 'node:http'
import type { ClientOptions, SessionChange, TransportName } from '@switchboard/client'
import { createSwitchboard, listen, type Switchboard } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { connectClient, TRANSPORT_CASES } from './helpers/fixture.js'

/**
 * Graceful drain: `sb.close()` while a client streams both ways, then the node's HTTP server
 * closes, as a process does on shutdown. The old server flushes what it owes and the exact ack
 * of what it processed, then CLOSE with "come back in N ms"; the client moves to a new server
 * and carries over the requests the old one never processed. Nothing the old server accepted or
 * sent is lost, nothing is processed twice, nothing is rejected.
 *
 * A router stands in for a load balancer: negotiate goes to the newest server, everything else
 * to the server that created the session while its HTTP server is up (so a returning client
 * hears the old one's final words), and to the newest once it is down. Closing a node's HTTP
 * server cuts its requests in flight, as `server.closeAllConnections()` does. Requests on their
 * way when the drain begins (a long poll between two polls, a POST) can be held by the router
 * and let through a moment after `sb.close()` was called.
 */
type Numbered = { n: number }

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Backend {
  sb: Switchboard
  app: Hono
  /** Its HTTP server is closed: requests go to the newest node. */
  down: boolean
  /** Responses in flight and their paths, cut when the HTTP server closes. */
  inFlight: Map<ServerResponse, string>
  /** Requests to these paths wait in `held` before they reach this node. */
  holding: readonly string[]
  held: { path: string; release(): void }[]
}

async function cluster(processed: number[]) {
  const backends: Backend[] = []
  const owner = new Map<string, Backend>()
  const addBackend = () => {
    const sb = createSwitchboard({ heartbeatMs: 1_000 })
    sb.channel('room:*', {
      onPublish: (data) => {
        processed.push((data as Numbered).n)
        return data
      },
    })
    const backend: Backend = { sb, app: new Hono().route('/rt', sb.app), down: false, inFlight: new Map(), holding: [], held: [] }
    backends.push(backend)
    return backend
  }
  const router = new Hono()
  router.all('/rt/*', async (c) => {
    const newest = () => backends.at(-1)!
    if (c.req.path === '/rt/negotiate') {
      const backend = newest()
      const res = await backend.app.fetch(c.req.raw, c.env)
      if (res.ok) owner.set(((await res.clone().json()) as { sessionId: string }).sessionId, backend)
      return res
    }
    const target = () => {
      const b = owner.get(c.req.query('sid') ?? '')
      return b && !b.down ? b : newest()
    }
    const { holding, held } = target()
    if (holding.includes(c.req.path)) await new Promise<void>((release) => held.push({ path: c.req.path, release }))
    const backend = target()
    const outgoing = (c.env as { outgoing?: ServerResponse }).outgoing
    if (outgoing) {
      backend.inFlight.set(outgoing, c.req.path)
      outgoing.once('close', () => backend.inFlight.delete(outgoing))
    }
    return backend.app.fetch(c.req.raw, c.env)
  })
  const first = addBackend()
  const server = await listen(router)
  cleanups.push(async () => {
    // The test's client is closed by now: no long-polling client will come for a notice.
    for (const b of backends) await b.sb.close({ drainTimeoutMs: 0 })
    await server.close()
  })
  /**
   * Shuts `backend` down as a process would: `sb.close()`, then its HTTP server. Held requests go
   * on a moment after the close began, as requests on their way arrive (or, `lost`, only once the
   * server is down). The default drain timeout is longer than a test's: close() missing a
   * client's notice fails the test instead of waiting.
   */
  const shutDown = async (backend: Backend, { drainTimeoutMs = 60_000, lost = false } = {}) => {
    const closing = backend.sb.close({ reconnectMs: 50, drainTimeoutMs })
    backend.holding = []
    const onTheirWay = backend.held.splice(0)
    const release = () => {
      for (const h of onTheirWay) h.release()
    }
    if (!lost) setImmediate(release)
    await closing
    backend.down = true
    for (const res of backend.inFlight.keys()) res.destroy()
    if (lost) release()
  }
  return { first, addBackend, shutDown, url: `${server.url}/rt` }
}

/** A cluster, and a client on `transport` with its session changes recorded. */
async function setUp(transport: TransportName, options: ClientOptions) {
  const processed: number[] = []
  const nodes = await cluster(processed)
  const client = connectClient(nodes.url, transport, { ...options, upgrade: false })
  cleanups.push(() => client.close())
  const sessions: SessionChange[] = []
  client.on('session', (e) => sessions.push(e))
  return { ...nodes, processed, client, sessions }
}

describe.each(TRANSPORT_CASES)('graceful drain over %s%s', (transport, _label, options) => {
  it('moves the client to a new server: every request queued or in flight processed exactly once, none rejected, everything sent before the close delivered', async () => {
    const { first, addBackend, shutDown, processed, client, sessions } = await setUp(transport, options)
    const fromServer: number[] = []
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
    for (; published < 300; published++) await first.sb.publish('room:drain', { from: 'server', n: published })
    while (sent < 500) await new Promise((r) => setTimeout(r, 5))

    // Over HTTP, the drain finds requests on their way: a POST in flight, and on long polling the
    // next poll (one more message answers the poll the server holds).
    if (transport !== 'websocket') {
      const next = transport === 'long-polling' ? '/rt/poll' : '/rt/send'
      first.holding = ['/rt/poll', '/rt/send']
      if (next === '/rt/poll') await first.sb.publish('room:drain', { from: 'server', n: published++ })
      await vi.waitFor(() => expect(first.held.map((h) => h.path)).toContain(next))
    }
    addBackend()
    await shutDown(first)
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

const LONG_POLLING_CASES = TRANSPORT_CASES.filter(([t]) => t === 'long-polling')

describe.each(LONG_POLLING_CASES)('graceful drain over %s%s, where only a poll carries the notice', (transport, _label, options) => {
  it('answers the held poll with the end at once and closes only once that answer is out: the POST in flight is processed once, on the new server', async () => {
    const { first, addBackend, shutDown, processed, client, sessions } = await setUp(transport, options)
    await client.ready()

    first.holding = ['/rt/send']
    const publish = client.channel<Numbered>('room:drain').publish({ n: 0 })
    await vi.waitFor(() => {
      expect(first.held.map((h) => h.path)).toEqual(['/rt/send'])
      expect([...first.inFlight.values()]).toContain('/rt/poll')
    })
    addBackend()
    await shutDown(first)
    await expect(publish).resolves.toEqual({ offset: 1 })
    expect(processed).toEqual([0])
    expect(sessions).toEqual([{ sessionId: expect.any(String), resumed: false, reason: 'SERVER_SHUTDOWN' }])
    expect(client.state).toBe('open')
  })

  it('does not wait for a long-polling client that abandoned its poll', async () => {
    const { first, client } = await setUp(transport, options)
    await client.ready()
    await vi.waitFor(() => expect([...first.inFlight.values()]).toContain('/rt/poll'))
    client.close()
    await vi.waitFor(() => expect([...first.inFlight.values()]).not.toContain('/rt/poll'))
    // Longer than the test's timeout: waiting for this client would fail the test.
    await first.sb.close({ drainTimeoutMs: 60_000 })
    expect(first.sb.sessionCount).toBe(0)
  })

  it('stops waiting for a client whose next poll does not come within drainTimeoutMs: its unprocessed request rejects SESSION_LOST', async () => {
    const { first, addBackend, shutDown, processed, client, sessions } = await setUp(transport, options)
    await client.ready()

    // The next poll and a POST are on their way, and get through only once the server is down.
    first.holding = ['/rt/poll', '/rt/send']
    await first.sb.publish('room:drain', { from: 'server', n: 0 })
    await vi.waitFor(() => expect(first.held.map((h) => h.path)).toContain('/rt/poll'))
    const publish = client.channel<Numbered>('room:drain').publish({ n: 0 })
    await vi.waitFor(() => expect(first.held.map((h) => h.path)).toContain('/rt/send'))
    addBackend()
    const started = Date.now()
    await shutDown(first, { drainTimeoutMs: 200, lost: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    await expect(publish).rejects.toMatchObject({ code: 'SESSION_LOST' })
    expect(processed).toEqual([])
    await vi.waitFor(() => expect(sessions).toEqual([{ sessionId: expect.any(String), resumed: false, reason: 'UNKNOWN_SESSION' }]))
    await expect(client.channel<Numbered>('room:drain').publish({ n: 1 })).resolves.toEqual({ offset: 1 })
    expect(processed).toEqual([1])
  })
})
