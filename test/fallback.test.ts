import { createSwitchboard, listen, type Listening } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'
import type { SwitchboardClient } from '@switchboard/client'

/**
 * Servers that behave like broken networks in front of Switchboard: a proxy that refuses the
 * WebSocket upgrade, one that also refuses or stalls the event stream. The client must land on
 * the next transport by itself, and the test asserts the transport actually chosen.
 */
type Breakage = { ws?: 'refuse'; sse?: 'refuse' | 'stall' }

const running: { server: Listening; close(): Promise<void> }[] = []
const clients: SwitchboardClient[] = []

async function brokenServer(breakage: Breakage) {
  const sb = createSwitchboard()
  sb.channel('room:*').rpc('add', ({ a, b }: { a: number; b: number }) => a + b)
  const app = new Hono()
  if (breakage.ws === 'refuse') app.get('/rt/ws', (c) => c.text('Upgrade refused by proxy', 403))
  if (breakage.sse === 'refuse') app.get('/rt/sse', (c) => c.text('Bad gateway', 502))
  // A buffering proxy: headers and events held back until the stream ends, which it never does here.
  if (breakage.sse === 'stall')
    app.get('/rt/sse', (c) => new Promise<Response>((r) => c.req.raw.signal.addEventListener('abort', () => r(c.body(null)))))
  app.route('/rt', sb.app)
  const server = await listen(app)
  const entry = { server, close: async () => (await sb.close(), await server.close()) }
  running.push(entry)
  return `${server.url}/rt`
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of running.splice(0)) await s.close()
})

async function landsOn(url: string, attemptTimeoutMs = 3_000) {
  const c = connectClient(url, undefined, { attemptTimeoutMs })
  clients.push(c)
  const tried: string[] = []
  c.on('transport', (e) => e.to && tried.push(e.to))
  const started = Date.now()
  await c.ready()
  await expect(c.call('add', { a: 20, b: 22 })).resolves.toBe(42)
  return { client: c, transport: c.transport, tookMs: Date.now() - started }
}

describe('transport fallback', () => {
  it('uses WebSocket when nothing is in the way', async () => {
    const { transport } = await landsOn(await brokenServer({}))
    expect(transport).toBe('websocket')
  })

  it('lands on SSE when the WebSocket upgrade is refused', async () => {
    const { transport } = await landsOn(await brokenServer({ ws: 'refuse' }))
    expect(transport).toBe('sse')
  })

  it('lands on long polling when the upgrade and the event stream are both refused', async () => {
    const { transport } = await landsOn(await brokenServer({ ws: 'refuse', sse: 'refuse' }))
    expect(transport).toBe('long-polling')
  })

  it('lands on long polling when the event stream stalls (buffering proxy), within the attempt timeout', async () => {
    const { transport, tookMs } = await landsOn(await brokenServer({ ws: 'refuse', sse: 'stall' }), 1_000)
    expect(transport).toBe('long-polling')
    expect(tookMs).toBeGreaterThanOrEqual(1_000)
  })

  it('keeps the same session across failed attempts: messages published while falling back arrive', async () => {
    const url = await brokenServer({ ws: 'refuse', sse: 'refuse' })
    const c = connectClient(url, undefined, { attemptTimeoutMs: 3_000 })
    clients.push(c)
    const room = c.channel<number>('room:queued')
    const got: number[] = []
    room.on('message', (m) => got.push(m.data))
    // Requests made before any transport is up wait in the outbox and go out on the one that works.
    const subscribed = room.subscribe()
    const published = [1, 2, 3].map((n) => room.publish(n))
    await subscribed
    await Promise.all(published)
    expect(c.transport).toBe('long-polling')
    await expect.poll(() => got).toEqual([1, 2, 3])
  })
})
