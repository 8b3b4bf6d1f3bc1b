import type { StateChange } from '@switchboard/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { startPostStallingProxy, type PostMode } from './helpers/post-stalling-proxy.js'

/**
 * A proxy that reads `POST /send` and never answers (or answers 504 after a while) must not make
 * a zombie: the client declares the line dead within requestTimeoutMs, reattaches, and once the
 * proxy heals every publish is delivered exactly once, in order, with nothing left pending.
 */
const REQUEST_TIMEOUT_MS = 1_000
const PUBLISHES = 100
const HTTP_CASES = TRANSPORT_CASES.filter(([transport]) => transport !== 'websocket')

let server: TestServer
const rows: string[] = []

beforeAll(async () => {
  server = await startServer({ heartbeatMs: 2_000, pollTimeoutMs: 1_000 })
})
afterAll(async () => {
  await server?.close()
  if (rows.length) console.log(['stalled POSTs (requestTimeoutMs 1000):', ...rows.sort()].join('\n'))
})

describe.concurrent.each(HTTP_CASES)('%s%s', (transport, label, options) => {
  it.each(['stall', 'gateway-timeout'] as const)(
    'a proxy in %s mode makes no zombie: every publish arrives once the proxy heals',
    async (mode: PostMode) => {
      const proxy = await startPostStallingProxy({ targetPort: server.port, gatewayMs: 500 })
      const client = connectClient(`${proxy.url}/rt`, transport, { upgrade: false, requestTimeoutMs: REQUEST_TIMEOUT_MS, ...options })
      const drops: (StateChange & { at: number })[] = []
      client.on('state', (change) => change.to === 'backoff' && drops.push({ ...change, at: Date.now() }))
      const name = `room:stalled-${transport}${label.replace(/\W/g, '')}-${mode}`
      const seen: number[] = []
      client.channel<{ n: number }>(name).on('message', (m) => seen.push(m.data.n))
      try {
        await client.channel(name).subscribe()
        proxy.setMode(mode)
        const stalledAt = Date.now()
        const publishes = Array.from({ length: PUBLISHES }, (_, n) => client.channel<{ n: number }>(name).publish({ n }))
        // Nothing can go up: the line is found dead and retried, again and again, never a zombie.
        await vi.waitFor(() => expect(drops.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 })
        const detectedMs = drops[0]!.at - stalledAt
        if (mode === 'stall') expect(drops[0]).toMatchObject({ code: 'TIMEOUT' })
        proxy.setMode('pass')
        const healedAt = Date.now()
        await Promise.all(publishes)
        await vi.waitFor(() => expect(seen).toEqual(Array.from({ length: PUBLISHES }, (_, n) => n)), { timeout: 10_000 })
        expect(client.state).toBe('open')
        rows.push(
          `${(transport + label).padEnd(24)} ${mode.padEnd(16)} detected after ${detectedMs} ms, ${drops.length} drops, ${proxy.swallowed} POSTs swallowed, all ${PUBLISHES} delivered ${Date.now() - healedAt} ms after healing`,
        )
      } finally {
        client.close()
        await proxy.close()
      }
    },
  )
})

/**
 * Two POSTs in flight go on two connections, and the later one can reach the server first: the
 * server holds its frames until the earlier one's fill the gap, so nothing is lost or repeated.
 * One POST in three is held: were the one that overtook it answered at once, the client would
 * send a third past what the server holds. Batches of 16 frames: many POSTs, many overtaken.
 */
describe('POSTs that overtake each other', () => {
  let small: TestServer
  beforeAll(async () => {
    small = await startServer({ maxBatchFrames: 16 })
  })
  afterAll(async () => {
    await small?.close()
  })

  describe.concurrent.each(HTTP_CASES)('%s%s', (transport, label, options) => {
    it('every publish is processed once and in order', async () => {
      const proxy = await startPostStallingProxy({ targetPort: small.port, overtakeMs: 30, overtakeEvery: 3 })
      const client = connectClient(`${proxy.url}/rt`, transport, { upgrade: false, ...options })
      const name = `room:overtaken-${transport}${label.replace(/\W/g, '')}`
      const seen: number[] = []
      client.channel<{ n: number }>(name).on('message', (m) => seen.push(m.data.n))
      try {
        await client.channel(name).subscribe()
        proxy.setMode('overtake')
        const drops: StateChange[] = []
        client.on('state', (change) => change.to === 'backoff' && drops.push(change))
        // More than an outbox's worth: batches leave as answers make room, two POSTs at a time.
        const count = 3_000
        await Promise.all(Array.from({ length: count }, (_, n) => client.channel<{ n: number }>(name).publish({ n })))
        // The channel numbers messages as the server processes them: once each, in seq order.
        await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(count), { timeout: 10_000 })
        expect(seen).toEqual(Array.from({ length: count }, (_, n) => n))
        expect(proxy.overtaken).toBeGreaterThan(0)
        expect(drops).toEqual([])
        rows.push(
          `${(transport + label).padEnd(24)} overtake         ${proxy.overtaken} POSTs overtook another, all ${count} publishes once, in order`,
        )
      } finally {
        client.close()
        await proxy.close()
      }
    })
  })
})
