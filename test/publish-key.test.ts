import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'

/** `sb.publish` with an idempotency key: a retried publish (a REST call resent, say) goes out once. */
let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.close())

describe.each(TRANSPORT_CASES)('a keyed publish, over %s%s', (transport, label, options) => {
  it('reaches subscribers once when repeated, and answers the first offset', async () => {
    const channel = `room:keyed-${transport}${label.replaceAll(' ', '-')}`
    const client = connectClient(server.url, transport, options)
    try {
      const got = collect<string>(client, channel)
      await client.channel(channel).subscribe()
      expect(await server.sb.publish(channel, 'order 1', { idempotencyKey: 'order-1' })).toBe(1)
      expect(await server.sb.publish(channel, 'order 1', { idempotencyKey: 'order-1' })).toBe(1)
      expect(await server.sb.publish(channel, 'order 2', { idempotencyKey: 'order-2' })).toBe(2)
      expect(await server.sb.publish(channel, 'unkeyed')).toBe(3)
      await vi.waitFor(() => expect(got).toEqual(['order 1', 'order 2', 'unkeyed']))
    } finally {
      client.close()
    }
  })
})
