import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'
import { startPostStallingProxy } from './helpers/post-stalling-proxy.js'

/**
 * A proxy that loses a long poll's answer and sends the same GET again, as nginx does when the
 * node it asked fails mid-answer (and a browser may, on a reused connection that breaks): the
 * client never learns the first answer was lost, so the second must carry its frames again.
 */
let server: TestServer

beforeAll(async () => {
  server = await startServer({ pollTimeoutMs: 1_000 })
})
afterAll(async () => {
  await server?.close()
})

describe('a long poll whose answer a proxy lost and asked for again', () => {
  it('is answered with the lost frames again: every message and reply arrives once, in order', async () => {
    const proxy = await startPostStallingProxy({ targetPort: server.port })
    const client = connectClient(`${proxy.url}/rt`, 'long-polling', { upgrade: false })
    const name = 'room:retried-polls'
    const seen: number[] = []
    client.channel<{ n: number }>(name).on('message', (m) => seen.push(m.data.n))
    try {
      await client.channel(name).subscribe()
      proxy.setMode('retry-poll')
      const count = 200
      for (let n = 0; n < count; n++) {
        await server.sb.publish(name, { n })
        // Paced, so that polls answer a few messages at a time, and calls whose replies polls carry.
        if (n % 10 === 9) expect(await client.call('echo', n)).toBe(n)
      }
      await vi.waitFor(() => expect(seen).toHaveLength(count), { timeout: 10_000 })
      expect(seen).toEqual(Array.from({ length: count }, (_, n) => n))
      expect(proxy.retried).toBeGreaterThan(0)
      expect(client.state).toBe('open')
    } finally {
      client.close()
      await proxy.close()
    }
  })
})
