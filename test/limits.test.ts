import net from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { startBystander } from './helpers/bystander.js'
import { collect, connectClient, startServer, type TestServer } from './helpers/fixture.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

/**
 * Limits that keep one caller from locking everyone else out: new sessions per client (a token
 * bucket, answered 429 RATE_LIMITED with when to retry), live sessions per identity, and a
 * session's publishes and calls (paced, never refused).
 */
const servers: TestServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function server(options: Parameters<typeof startServer>[0]) {
  const s = await startServer(options)
  servers.push(s)
  return s
}

const negotiate = (s: TestServer, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' })

describe('new sessions per client', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the burst, per client key, and others still get in', async () => {
    const s = await server({ negotiateRatePerSecond: 2, negotiateBurst: 5, negotiateKey: (c) => c.req.header('x-client') })
    const bystander = await startBystander(s) // no x-client header: not counted
    for (let i = 0; i < 5; i++) expect((await negotiate(s, { 'x-client': 'flood' })).status).toBe(200)
    const refused = await negotiate(s, { 'x-client': 'flood' })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    const body = (await refused.json()) as { code: string; retryAfterMs: number }
    expect(body).toMatchObject({ code: 'RATE_LIMITED' })
    expect(body.retryAfterMs).toBeGreaterThan(0)
    expect(body.retryAfterMs).toBeLessThanOrEqual(500)
    expect((await negotiate(s, { 'x-client': 'someone-else' })).status).toBe(200)
    await bystander.stillWorks()
    bystander.client.close()
  })

  it('keys on the client address by default: a flood from one address cannot fill the node', async () => {
    const s = await server({ negotiateBurst: 50, negotiateRatePerSecond: 1, maxSessions: 100 })
    const statuses: number[] = []
    for (let i = 0; i < 80; i++) statuses.push((await negotiate(s)).status)
    expect(statuses.filter((st) => st === 200)).toHaveLength(50)
    expect(statuses.slice(50).every((st) => st === 429)).toBe(true)
    expect(s.sb.sessionCount).toBe(50) // half the node is still free
  })

  it('a client refused RATE_LIMITED waits as told, then connects', async () => {
    const s = await server({ negotiateRatePerSecond: 4, negotiateBurst: 1 })
    const first = connectClient(s.url, 'websocket')
    await first.ready()
    const started = Date.now()
    const second = connectClient(s.url, 'websocket', { reconnect: { baseMs: 1, maxMs: 1 } })
    const codes: (string | undefined)[] = []
    second.on('state', (c) => c.to === 'backoff' && codes.push(c.code))
    await second.ready()
    expect(codes).toContain('RATE_LIMITED')
    expect(Date.now() - started).toBeGreaterThanOrEqual(200) // the bucket's next token, not the 1 ms backoff
    first.close()
    second.close()
  })
})

describe('live sessions per identity', () => {
  it('answers 503 TOO_MANY_SESSIONS past maxSessionsPerIdentity, and takes that identity again once one ends', async () => {
    const s = await server({
      recoveryMs: 300,
      maxSessionsPerIdentity: 2,
      authenticate: (c) => ({ user: c.req.header('x-user') ?? 'anon' }),
      identityKey: (identity) => identity?.user,
    })
    const as = (user: string) => negotiate(s, { 'x-user': user })
    expect((await as('ann')).status).toBe(200)
    expect((await as('ann')).status).toBe(200)
    const third = await as('ann')
    expect({ status: third.status, body: await third.json() }).toMatchObject({ status: 503, body: { code: 'TOO_MANY_SESSIONS' } })
    expect((await as('bob')).status).toBe(200)
    // Never attached, ann's sessions expire after recoveryMs: her count comes back down.
    await vi.waitFor(async () => expect((await as('ann')).status).toBe(200), { timeout: 5_000, interval: 200 })
  })
})

describe('per session', () => {
  it('answers a subscribe past maxSubscriptionsPerSession with TOO_MANY_SUBSCRIPTIONS, and takes one again after an unsubscribe', async () => {
    const s = await server({ maxSubscriptionsPerSession: 2 })
    const client = connectClient(s.url, 'websocket')
    try {
      await client.channel('room:a').subscribe()
      await client.channel('room:b').subscribe()
      await expect(client.channel('room:c').subscribe()).rejects.toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS' })
      await client.channel('room:a').unsubscribe()
      await client.channel('room:c').subscribe()
      expect(client.channel('room:c').state).toBe('subscribed')
    } finally {
      client.close()
    }
  })

  it('paces publishes and calls past the session rate: they wait, in order, none is refused; others are unaffected', async () => {
    const s = await server({ requestRatePerSecond: 5, requestBurst: 10 })
    s.sb.rpc('stamp', () => performance.now())
    const client = connectClient(s.url, 'websocket')
    const bystander = await startBystander(s)
    try {
      await client.ready()
      // 16 requests at a rate of 5 a second after a burst of 10: the last 6 are paced 200 ms apart.
      // Publishes go 4th, 8th, 12th and 16th: the last call is the 15th.
      const stamps: Promise<number>[] = []
      const publishes: Promise<unknown>[] = []
      for (let i = 0; i < 16; i++) {
        if (i % 4 === 3) publishes.push(client.channel('log:paced').publish({ i }))
        else stamps.push(client.call('stamp', null))
      }
      await bystander.stillWorks()
      const times = await Promise.all(stamps)
      await Promise.all(publishes)
      expect(times).toEqual([...times].sort((a, b) => a - b))
      // The pacing is a lower bound: the 15th waited for 5 tokens, at 5 a second (less the refill
      // while the first ones ran, a few ms).
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(900)
      await expect(client.call('add', { a: 1, b: 1 })).resolves.toBe(2)
    } finally {
      client.close()
      bystander.client.close()
    }
  })

  it('does not run a paced publish whose session ended while it waited', async () => {
    const s = await server({ requestRatePerSecond: 1, requestBurst: 1, recoveryMs: 200 })
    const listener = connectClient(s.url, 'websocket')
    const client = connectClient(s.url, 'websocket')
    try {
      const heard = collect<{ i: number }>(listener, 'log:ended')
      await listener.channel('log:ended').subscribe()
      await client.ready()
      const first = client.channel('log:ended').publish({ i: 1 })
      // The second waits 1 s for its token; the client goes and its session expires before.
      const second = client
        .channel('log:ended')
        .publish({ i: 2 })
        .catch((e: { code: string }) => e.code)
      await first
      client.close()
      expect(await second).toBe('CLOSED')
      await vi.waitFor(() => expect(s.sb.sessionCount).toBe(1), { timeout: 900 })
      await new Promise((r) => setTimeout(r, 1_000))
      expect(heard).toEqual([{ i: 1 }])
    } finally {
      client.close()
      listener.close()
    }
  })

  it('answers a session past maxRequestsPerSession POSTs or SSE probes in flight with 429 RATE_LIMITED', async () => {
    const s = await server({ maxRequestsPerSession: 2 })
    const session = (await (await negotiate(s)).json()) as { sessionId: string; resumeToken: string }
    const headers = { 'x-switchboard-token': session.resumeToken }
    // Two probes hold their streams open: the third is one too many.
    const probes = [0, 1].map(() => fetch(`${s.url}/sse?sid=${session.sessionId}&probe=1`, { headers }))
    const held = await Promise.all(probes)
    expect(held.map((r) => r.status)).toEqual([200, 200])
    const third = await fetch(`${s.url}/sse?sid=${session.sessionId}&probe=1`, { headers })
    expect({ status: third.status, body: await third.json() }).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } })
    // A probe that ends frees its place.
    await held[0]!.body!.cancel()
    await vi.waitFor(async () => {
      const again = await fetch(`${s.url}/sse?sid=${session.sessionId}&probe=1`, { headers })
      expect(again.status).toBe(200)
      await again.body!.cancel()
    })
    await held[1]!.body!.cancel()
    // POSTs whose bodies are still coming count too.
    const slow = [0, 1].map(() => {
      const socket = net.connect(s.port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(
        `POST /rt/send?sid=${session.sessionId} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-switchboard-token: ${session.resumeToken}\r\ncontent-length: 100\r\n\r\n[`,
      )
      return socket
    })
    await vi.waitFor(async () => {
      const post = await fetch(`${s.url}/send?sid=${session.sessionId}`, { method: 'POST', headers, body: '[]' })
      expect({ status: post.status, body: await post.json() }).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } })
    })
    for (const socket of slow) socket.destroy()
    await vi.waitFor(async () =>
      expect((await fetch(`${s.url}/send?sid=${session.sessionId}`, { method: 'POST', headers, body: '[]' })).status).toBe(200),
    )
  })
})

describe('a full node', () => {
  it('still takes back its existing sessions: a resume attaches to its session and needs no new one', async () => {
    const s = await server({ maxSessions: 5 })
    const proxy = await startTcpProxy({ targetPort: s.port })
    const client = connectClient(`${proxy.url}/rt`, 'websocket')
    try {
      await client.ready()
      const sessions: { resumed: boolean }[] = []
      client.on('session', (e) => sessions.push(e))
      // A flood takes every other place on the node.
      for (let i = 0; i < 4; i++) expect((await negotiate(s)).status).toBe(200)
      expect((await negotiate(s)).status).toBe(503)
      proxy.cutAll()
      await vi.waitFor(() => expect(sessions).toEqual([expect.objectContaining({ resumed: true })]))
      await expect(client.call('add', { a: 2, b: 2 })).resolves.toBe(4)
    } finally {
      client.close()
      await proxy.close()
    }
  })
})
