import { describe, expect, it } from 'vitest'
import { connect } from './client.js'

/**
 * A server that is full (or restarting) answers negotiate 503 with `retryAfterMs`: the client
 * waits at least that long, whatever its own backoff says, and a little more at random. A fetch
 * stand-in answers; no network is needed to see when the client comes back.
 */
function refusingFetch(retryAfterMs: unknown, refusals: number) {
  const negotiatedAt: number[] = []
  const fetchImpl = (async (input: RequestInfo | URL) => {
    if (!String(input).includes('/negotiate')) return new Response('{}', { status: 404 })
    negotiatedAt.push(Date.now())
    if (negotiatedAt.length <= refusals)
      return Response.json({ code: 'TOO_MANY_SESSIONS', message: 'full', retryAfterMs }, { status: 503, headers: { 'retry-after': '1' } })
    return Response.json({ code: 'UNAUTHORIZED', message: 'stop here' }, { status: 401 })
  }) as typeof fetch
  return { fetchImpl, negotiatedAt }
}

describe('Retry-After', () => {
  it('waits at least retryAfterMs before negotiating again, even with a near-zero backoff', async () => {
    const { fetchImpl, negotiatedAt } = refusingFetch(300, 2)
    const client = connect('http://127.0.0.1:9/rt', { fetch: fetchImpl, transports: ['long-polling'], reconnect: { baseMs: 1, maxMs: 1 } })
    await expect(client.ready()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(negotiatedAt).toHaveLength(3)
    for (let i = 1; i < 3; i++) {
      const waited = negotiatedAt[i]! - negotiatedAt[i - 1]!
      expect(waited).toBeGreaterThanOrEqual(300)
    }
  })

  it('ignores a retryAfterMs that is not a number', async () => {
    const { fetchImpl, negotiatedAt } = refusingFetch('soon', 2)
    const client = connect('http://127.0.0.1:9/rt', { fetch: fetchImpl, transports: ['long-polling'], reconnect: { baseMs: 1, maxMs: 1 } })
    await expect(client.ready()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(negotiatedAt).toHaveLength(3)
    expect(negotiatedAt[2]! - negotiatedAt[0]!).toBeLessThan(300)
  })
})
