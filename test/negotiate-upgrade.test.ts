import type { ClientOptions } from '@switchboard/client'
import type { SwitchboardOptions } from '@switchboard/server'
import net from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'

/**
 * A new session negotiated in the WebSocket upgrade (`GET /ws?negotiate=1&transports=…`): the
 * server runs what `POST /negotiate` runs (origin, rate, authenticate on the upgrade request,
 * limits, the cluster claim) and speaks first, a WELCOME with the answer; a refusal is a CLOSE
 * frame with negotiate's code and retry advice. Against a real server and real sockets.
 */

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A server whose requests are counted by path (`negotiate`, `ws`, `sse`, …). */
async function server(options: SwitchboardOptions<{ user: string } | null> = {}): Promise<TestServer & { hits: Map<string, number> }> {
  const s = await startServer(options)
  const hits = new Map<string, number>()
  s.http.prependListener('request', (req) => count(hits, req.url))
  s.http.prependListener('upgrade', (req) => count(hits, req.url))
  cleanups.push(() => s.close())
  return Object.assign(s, { hits })
}

function count(hits: Map<string, number>, url: string | undefined): void {
  const name = new URL(url ?? '/', 'http://x').pathname.split('/').at(-1) ?? ''
  hits.set(name, (hits.get(name) ?? 0) + 1)
}

/** `ws` with a cookie on its upgrade, as a browser sends the page's cookies. */
function withCookie(cookie: string): ClientOptions['WebSocket'] {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { cookie } })
    }
  } as unknown as ClientOptions['WebSocket']
}

type RawOutcome = { first: unknown; code: number }

/** A raw socket that negotiates: its first message (decoded) and the close code (1005: welcomed, closed by us). */
function rawNegotiate(s: TestServer, query = 'negotiate=1&transports=websocket', headers: Record<string, string> = {}): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?${query}`, { headers })
    let first: unknown
    ws.on('message', (data) => {
      first ??= JSON.parse(String(data))
      if ((first as unknown[][])[0]?.[0] === 1) ws.close()
    })
    ws.on('close', (code) => resolve({ first, code }))
    ws.on('error', reject)
  })
}

const cookieUser = (c: { req: { header(name: string): string | undefined } }) => {
  const user = /user=(\w+)/.exec(c.req.header('cookie') ?? '')?.[1]
  return user ? { user } : false
}

describe('negotiate in the WebSocket upgrade', () => {
  it('a default client opens a session with one request, the upgrade: no POST /negotiate, no HELLO', async () => {
    const s = await server()
    const client = connectClient(s.url, 'websocket')
    cleanups.push(() => client.close())
    await client.ready()
    await expect(client.call('echo', 'hi')).resolves.toBe('hi')
    expect(Object.fromEntries(s.hits)).toEqual({ ws: 1 })
    expect(client.sessionId).toMatch(/^[\w-]{22}$/)
  })

  it('authenticate reads the upgrade request (its cookie): the identity follows the session', async () => {
    const s = await server({ authenticate: cookieUser })
    const client = connectClient(s.url, 'websocket', { WebSocket: withCookie('user=ada') })
    cleanups.push(() => client.close())
    await expect(client.call('whoami', null)).resolves.toEqual({ user: 'ada' })
    expect(s.hits.get('negotiate')).toBeUndefined()
  })

  it('a client with headers negotiates over HTTP first, as before (a browser WebSocket cannot carry headers)', async () => {
    const s = await server({ authenticate: (c) => ({ user: c.req.header('x-user') ?? 'anon' }) })
    const client = connectClient(s.url, 'websocket', { headers: { 'x-user': 'bob' } })
    cleanups.push(() => client.close())
    await expect(client.call('whoami', null)).resolves.toEqual({ user: 'bob' })
    expect(Object.fromEntries(s.hits)).toEqual({ negotiate: 1, ws: 1 })
  })

  it('refused by authenticate: a CLOSE frame with UNAUTHORIZED and no retry, close code 4004; the client closes without a POST', async () => {
    const s = await server({ authenticate: cookieUser })
    expect(await rawNegotiate(s)).toEqual({ first: [[5, 'UNAUTHORIZED', 'Authentication failed', null]], code: 4004 })
    const client = connectClient(s.url, 'websocket')
    const error = await client.ready().catch((e: { code: string }) => e)
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' })
    expect(client.state).toBe('closed')
    expect(s.hits.get('negotiate')).toBeUndefined()
    expect(s.sb.sessionCount).toBe(0)
  })

  it('past the negotiate rate: RATE_LIMITED with retryAfterMs in the CLOSE frame, and the client waits that long', async () => {
    const s = await server({ negotiateRatePerSecond: 5, negotiateBurst: 1 })
    expect(await rawNegotiate(s)).toEqual({ first: [[1, 0, expect.objectContaining({ transports: ['websocket'] })]], code: 1005 })
    const refused = await rawNegotiate(s)
    expect(refused.code).toBe(4026)
    expect(refused.first).toEqual([[5, 'RATE_LIMITED', 'Too many new sessions from this client', expect.any(Number)]])
    const retryAfterMs = (refused.first as [[5, string, string, number]])[0][3]
    expect(retryAfterMs).toBeGreaterThan(0)
    expect(retryAfterMs).toBeLessThanOrEqual(200)
    const started = Date.now()
    const client = connectClient(s.url, 'websocket', { reconnect: { baseMs: 1, maxMs: 1 } })
    cleanups.push(() => client.close())
    const codes: string[] = []
    client.on('state', ({ code }) => code && codes.push(code))
    await client.ready()
    expect(codes).toContain('RATE_LIMITED')
    expect(Date.now() - started).toBeGreaterThanOrEqual(100) // the bucket's next token, not the 1 ms backoff
    expect(s.hits.get('negotiate') ?? 0).toBe(0)
  })

  it('past maxSessions: TOO_MANY_SESSIONS with when to retry; another protocol version: PROTOCOL_MISMATCH', async () => {
    const s = await server({ maxSessions: 1 })
    expect((await rawNegotiate(s)).code).toBe(1005)
    await vi.waitFor(() => expect(s.sb.sessionCount).toBe(1))
    const full = await rawNegotiate(s)
    expect(full).toEqual({ first: [[5, 'TOO_MANY_SESSIONS', expect.any(String), expect.any(Number)]], code: 4023 })
    expect(await rawNegotiate(s, 'negotiate=99')).toEqual({
      first: [[5, 'PROTOCOL_MISMATCH', 'Client and server speak different protocol versions', null]],
      code: 4022,
    })
  })

  it('a socket that closes while authenticate runs leaves no session behind', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let asked = 0
    const s = await server({
      authenticate: async () => {
        asked++
        await gate
        return { user: 'late' }
      },
    })
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?negotiate=1`)
    await new Promise((r) => ws.once('open', r))
    await vi.waitFor(() => expect(asked).toBe(1))
    ws.close()
    await new Promise((r) => ws.once('close', r))
    release()
    await vi.waitFor(() => expect(s.sb.sessionCount).toBe(0))
    await new Promise((r) => setTimeout(r, 50))
    expect(s.sb.sessionCount).toBe(0)
  })

  it('an upgrade that negotiates but that ws refuses after the app answered (a bad Sec-WebSocket-Key) leaves no session behind', async () => {
    const ended: string[] = []
    const s = await server({ logger: (e) => e.kind === 'session' && e.message.startsWith('ended') && ended.push(e.message) })
    const { port } = new URL(s.url)
    const path = new URL(s.url).pathname
    // What `ws` refuses after the app answered: the session negotiate made has no socket to go to.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET ${path}/ws?negotiate=1&transports=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n\r\n',
        )
      })
      let text = ''
      socket.on('data', (d) => (text += d))
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    // The session was made, then ended at once (not left for recoveryMs).
    await vi.waitFor(() => expect(ended).toEqual(['ended: SESSION_LOST']))
    expect(s.sb.sessionCount).toBe(0)
    // A good upgrade still negotiates.
    expect((await rawNegotiate(s)).code).toBe(1005)
  })

  it('an authenticate that does not finish within 10 s closes the socket with TIMEOUT', { timeout: 20_000 }, async () => {
    const s = await server({ authenticate: () => new Promise(() => {}) })
    const started = Date.now()
    const outcome = await rawNegotiate(s)
    expect(outcome).toEqual({ first: undefined, code: 4013 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900)
  })

  it('a socket that never sends its HELLO is closed with TIMEOUT after 10 s, by the first sweep after', { timeout: 25_000 }, async () => {
    const s = await server()
    const started = Date.now()
    // Two at once, a moment apart: one timer serves both (see Deadlines).
    const [a, b] = await Promise.all([rawNegotiate(s, 'sid=nope'), new Promise((r) => setTimeout(r, 300)).then(() => rawNegotiate(s, 'sid=nope'))])
    expect([a, b]).toEqual([
      { first: undefined, code: 4013 },
      { first: undefined, code: 4013 },
    ])
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_200)
    // The sweep runs at most a second late (11 s); the bound leaves a stalled machine 4 s more,
    // and still fails a queue that waits for a second timeout's worth (20 s).
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('a proxy that refuses upgrades: the client negotiates over HTTP and opens on SSE', async () => {
    const s = await server()
    // The upgrade is answered 403 before Switchboard sees it, as a proxy that strips Upgrade would.
    s.http.removeAllListeners('upgrade')
    s.http.on('upgrade', (req, socket) => {
      count(s.hits, req.url)
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
    })
    const client = connectClient(s.url, undefined, { upgrade: false })
    cleanups.push(() => client.close())
    await client.ready()
    expect(client.transport).toBe('sse')
    await expect(client.call('echo', 1)).resolves.toBe(1)
    expect(s.hits.get('ws')).toBe(1)
    expect(s.hits.get('negotiate')).toBe(1)
  })
})
