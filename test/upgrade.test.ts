import type { SwitchboardClient, TransportChange, TransportName } from '@switchboard/client'
import { upgradeWebSocket } from '@hono/node-server'
import { createSwitchboard, listen } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

/**
 * Line changes mid-session: a client that starts on SSE or long polling because WebSocket is
 * blocked probes it in the background and moves over once it works; a WebSocket that dies moves
 * the session down and later back up; a WebSocket that opens but carries nothing (a "false
 * upgrade" behind some proxies) is detected by the probe and abandoned. Messages stream both ways
 * throughout, and each arrives exactly once, in order.
 */
type Gate = { ws: 'open' | 'refuse' | 'silent'; sse: 'open' | 'refuse' | 'stall'; wsAttempts: number }

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gatedServer(gate: Gate) {
  const sb = createSwitchboard({ heartbeatMs: 1_000 })
  sb.channel('room:*')
  const app = new Hono()
  const silent = upgradeWebSocket(() => ({})) // accepts the upgrade, never answers a frame
  app.get('/rt/ws', async (c, next) => {
    gate.wsAttempts++
    if (gate.ws === 'refuse') return c.text('Upgrade refused by proxy', 403)
    if (gate.ws === 'silent') return silent(c, next)
    await next()
  })
  app.get('/rt/sse', async (c, next) => {
    if (gate.sse === 'refuse') return c.text('Bad gateway', 502)
    // A buffering proxy: nothing reaches the client until the response ends, which it never does here.
    if (gate.sse === 'stall') return new Promise<Response>((r) => c.req.raw.signal.addEventListener('abort', () => r(c.body(null))))
    await next()
  })
  app.route('/rt', sb.app)
  const server = await listen(app)
  const proxy = await startTcpProxy({ targetPort: server.port })
  cleanups.push(async () => {
    await proxy.close()
    await sb.close()
    await server.close()
  })
  return { sb, url: `${proxy.url}/rt`, proxy }
}

function track(client: SwitchboardClient) {
  const changes: TransportChange[] = []
  client.on('transport', (e) => changes.push(e))
  cleanups.push(() => client.close())
  return changes
}

/** Streams numbered messages both ways until stopped; returns what each side saw. */
function stream(client: SwitchboardClient, sb: { publish(c: string, d: unknown): Promise<number> }, channel: string) {
  const seen: number[] = []
  const echoed: number[] = []
  let running = true
  let sent = 0
  let published = 0
  client.channel<{ from: string; n: number }>(channel).on('message', ({ data }) => (data.from === 'server' ? seen : echoed).push(data.n))
  const up = (async () => {
    while (running) {
      await client.channel(channel).publish({ from: 'client', n: sent++ })
    }
  })()
  const down = (async () => {
    while (running) {
      await sb.publish(channel, { from: 'server', n: published++ })
      await new Promise((r) => setTimeout(r, 2))
    }
  })()
  return {
    async stop() {
      running = false
      await Promise.all([up, down])
      await expect.poll(() => [seen.length, echoed.length], { timeout: 10_000 }).toEqual([published, sent])
      expect(seen).toEqual(Array.from({ length: published }, (_, i) => i))
      expect(echoed).toEqual(Array.from({ length: sent }, (_, i) => i))
      return { sent, published }
    },
  }
}

/** A move up mid-session: where the client starts, which line then opens, where it must end up. */
interface LineChange {
  /** The gate the server starts behind. */
  gate: Gate
  channel: string
  /** The transport the client must start on. */
  from: TransportName
  /** The line the test opens, and the transport the client must then move to. */
  open: 'ws' | 'sse'
  to: TransportName
  /** How long messages flow before the line opens, and after the move before the stream stops. */
  flowBeforeMs?: number
  flowAfterMs?: number
}

/**
 * Starts on `from` with messages streaming both ways, opens the gate mid-stream and waits until the
 * client moves to `to`; stopping the stream checks every message arrived once, in order.
 */
async function moveMidStream({ gate, channel, from, open, to, flowBeforeMs, flowAfterMs }: LineChange) {
  const { sb, url } = await gatedServer(gate)
  const client = connectClient(url, undefined, { upgrade: { delayMs: 100, maxDelayMs: 200 }, rememberTransportMs: 0 })
  const changes = track(client)
  await client.ready()
  expect(client.transport).toBe(from)
  await client.channel(channel).subscribe()
  const flow = stream(client, sb, channel)
  if (flowBeforeMs !== undefined) await new Promise((r) => setTimeout(r, flowBeforeMs))
  gate[open] = 'open'
  await expect.poll(() => client.transport, { timeout: 5_000 }).toBe(to)
  if (flowAfterMs !== undefined) await new Promise((r) => setTimeout(r, flowAfterMs))
  const { sent, published } = await flow.stop()
  return { sent, published, changes }
}

describe('upgrade and downgrade mid-session', () => {
  it('starts on SSE while WebSocket is refused, then upgrades to it without losing a message either way', async () => {
    const { sent, published, changes } = await moveMidStream({
      gate: { ws: 'refuse', sse: 'open', wsAttempts: 0 },
      channel: 'room:up',
      from: 'sse',
      open: 'ws',
      to: 'websocket',
      flowBeforeMs: 300,
      flowAfterMs: 200,
    })
    expect(sent).toBeGreaterThan(10)
    expect(published).toBeGreaterThan(10)
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual(['null->sse:welcomed', 'sse->websocket:upgrade'])
  })

  it('upgrades from long polling too', async () => {
    await moveMidStream({
      gate: { ws: 'refuse', sse: 'refuse', wsAttempts: 0 },
      channel: 'room:lp',
      from: 'long-polling',
      open: 'ws',
      to: 'websocket',
    })
  })

  it('moves from long polling back up to SSE once SSE works again, while WebSocket stays refused', async () => {
    const { changes } = await moveMidStream({
      gate: { ws: 'refuse', sse: 'refuse', wsAttempts: 0 },
      channel: 'room:lp-sse',
      from: 'long-polling',
      open: 'sse',
      to: 'sse',
      flowBeforeMs: 300,
    })
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual(['null->long-polling:welcomed', 'long-polling->sse:upgrade'])
  })

  it('does not move to an SSE line that buffers: its probe never answers in time', async () => {
    const gate: Gate = { ws: 'refuse', sse: 'refuse', wsAttempts: 0 }
    const { url } = await gatedServer(gate)
    const client = connectClient(url, undefined, { attemptTimeoutMs: 400, upgrade: { delayMs: 100, maxDelayMs: 100 }, rememberTransportMs: 0 })
    const states: string[] = []
    client.on('state', (e) => states.push(`${e.to}:${e.reason}`))
    track(client)
    await client.ready()
    gate.sse = 'stall'
    await expect.poll(() => states.filter((s) => s.startsWith('open:upgrade to sse failed')).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1)
    expect(client.transport).toBe('long-polling')
    await expect(client.channel('room:buffered').publish({ ok: true })).resolves.toMatchObject({ offset: 1 })
  })

  it('moves down to SSE when the WebSocket dies and cannot come back, then back up when it can', async () => {
    const gate: Gate = { ws: 'open', sse: 'open', wsAttempts: 0 }
    const { sb, url, proxy } = await gatedServer(gate)
    const client = connectClient(url, undefined, { upgrade: { delayMs: 100, maxDelayMs: 200 }, rememberTransportMs: 0 })
    const changes = track(client)
    await client.ready()
    expect(client.transport).toBe('websocket')
    await client.channel('room:down').subscribe()
    const flow = stream(client, sb, 'room:down')
    await new Promise((r) => setTimeout(r, 200))
    gate.ws = 'refuse'
    proxy.cutAll()
    await expect.poll(() => client.transport, { timeout: 5_000 }).toBe('sse')
    await new Promise((r) => setTimeout(r, 300))
    gate.ws = 'open'
    await expect.poll(() => client.transport, { timeout: 5_000 }).toBe('websocket')
    await flow.stop()
    const path = changes.map((c) => c.to).filter((t) => t !== null)
    expect(path).toEqual(['websocket', 'sse', 'websocket'])
  })

  it('detects a false upgrade (socket opens, carries nothing) at connect and when probing, and stays on SSE', async () => {
    const gate: Gate = { ws: 'silent', sse: 'open', wsAttempts: 0 }
    const { url } = await gatedServer(gate)
    const client = connectClient(url, undefined, {
      attemptTimeoutMs: 500,
      upgrade: { delayMs: 100, maxDelayMs: 100 },
      rememberTransportMs: 0,
    })
    const states: string[] = []
    client.on('state', (e) => states.push(`${e.to}:${e.reason}`))
    track(client)
    await client.ready()
    expect(client.transport).toBe('sse')
    await expect
      .poll(() => states.filter((s) => s.startsWith('open:upgrade to websocket failed')).length, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(1)
    expect(client.transport).toBe('sse')
    await expect(client.channel('room:false').publish({ ok: true })).resolves.toMatchObject({ offset: 1 })
    expect(gate.wsAttempts).toBeGreaterThanOrEqual(2) // the connect attempt and at least one probe
  })

  it('remembers the transport that worked and starts there next time, while still probing the better one', async () => {
    const gate: Gate = { ws: 'refuse', sse: 'refuse', wsAttempts: 0 }
    const { url } = await gatedServer(gate)
    const first = connectClient(url, undefined, { upgrade: false })
    track(first)
    await first.ready()
    expect(first.transport).toBe('long-polling')
    first.close()
    const attemptsBefore = gate.wsAttempts
    const second = connectClient(url, undefined, { upgrade: { delayMs: 200, maxDelayMs: 200 } })
    const changes = track(second)
    await second.ready()
    expect(changes[0]).toMatchObject({ from: null, to: 'long-polling' })
    expect(gate.wsAttempts).toBe(attemptsBefore) // no WebSocket attempt before the first message could flow
    gate.ws = 'open'
    await expect.poll(() => second.transport, { timeout: 5_000 }).toBe('websocket')
  })
})
