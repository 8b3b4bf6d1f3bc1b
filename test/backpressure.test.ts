import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js'

/**
 * Backpressure: a client that stops reading (its downstream stalls in the proxy) while the server
 * publishes megabytes. The server stops writing at the line's high-water mark and lets the replay
 * buffer hold the rest, then resumes when the line drains: everything arrives, in order, and the
 * session survives.
 */
let server: TestServer
let proxy: FaultProxy
beforeAll(async () => {
  server = await startServer()
  proxy = await startFaultProxy({ targetPort: server.port, seed: 1, cutEveryMs: [1e9, 1e9], stallChance: 0, delayChance: 0 })
  proxy.pause()
})
afterAll(async () => {
  await proxy.close()
  await server.close()
})

describe.each(['websocket', 'sse'] as const)('backpressure over %s', (transport) => {
  it('holds frames while the reader is stalled and delivers all of them, in order, once it reads again', async () => {
    const client = connectClient(`${proxy.url}/rt`, transport, { reconnect: false })
    try {
      const channel = `room:backpressure-${transport}`
      const got: number[] = []
      client.channel<{ n: number; pad: string }>(channel).on('message', ({ data }) => got.push(data.n))
      await client.channel(channel).subscribe()
      const pad = 'x'.repeat(16 * 1024)
      proxy.stallAll(800, 'down')
      for (let n = 0; n < 300; n++) await server.sb.publish(channel, { n, pad }) // ~4.8 MiB, past every high-water mark
      await expect.poll(() => got.length, { timeout: 15_000 }).toBe(300)
      expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i))
      expect(client.state).toBe('open')
      expect(client.transport).toBe(transport)
    } finally {
      client.close()
    }
  })
})
