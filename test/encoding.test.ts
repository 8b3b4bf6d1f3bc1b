import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'

/**
 * Text that is not ASCII (2-, 3- and 4-byte UTF-8, a lone surrogate escaped by JSON) through a
 * proxy that splits every segment into chunks of a few bytes, so multi-byte characters are cut
 * across TCP reads: every transport must put them back together.
 */
let server: TestServer
let proxy: FaultProxy
beforeAll(async () => {
  server = await startServer()
  proxy = await startFaultProxy({ targetPort: server.port, seed: 7, delayChance: 1, chunkBytes: 7, delayMs: [0, 1] })
})
afterAll(async () => {
  await proxy.close()
  await server.close()
})

const TEXT = 'é€😀 naïve 日本語 \ud800 '.repeat(60)

describe.each(TRANSPORT_CASES)('over %s%s, split into 1-7 byte chunks', (transport, via, options) => {
  it('carries multi-byte text both ways intact: a call, its reply and a published message', async () => {
    const client = connectClient(`${proxy.url}/rt`, transport, { reconnect: false, ...options })
    try {
      await client.ready()
      expect(await client.call('echo', { text: TEXT })).toEqual({ text: TEXT })
      const room = `room:utf8-${transport}${via.replaceAll(' ', '-')}`
      const got = collect<string>(client, room)
      await client.channel(room).subscribe()
      await client.channel<string>(room).publish(TEXT)
      await vi.waitFor(() => expect(got).toEqual([TEXT]), { timeout: 10_000 })
      expect(proxy.counters.delayedChunks).toBeGreaterThan(100)
    } finally {
      client.close()
    }
  })
})
