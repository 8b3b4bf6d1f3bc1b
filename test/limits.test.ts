import { afterEach, describe, expect, it, vi } from 'vitest'
import { startBystander } from './helpers/bystander.js'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'

/**
 * Limits that keep one caller from locking everyone else out: new sessions per client (a token
 * bucket, answered 429 RATE_LIMITED with when to retry) and live sessions per identity.
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
