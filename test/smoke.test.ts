import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, connectClient, startServer, type TestServer } from './helpers/fixture.js'

let server: TestServer
beforeAll(async () => { server = await startServer() })
afterAll(async () => { await server.close() })

describe.each(['websocket', 'sse', 'long-polling'] as const)('smoke %s', (transport) => {
  it('publishes and receives', async () => {
    const c = connectClient(server.url, transport)
    await c.ready()
    expect(c.transport).toBe(transport)
    const got = collect(c, 'room:a')
    await c.channel('room:a').subscribe()
    await c.channel('room:a').publish({ user: 'x', text: 'hi' })
    await vi.waitFor(() => expect(got).toEqual([{ user: 'x', text: 'hi' }]))
    expect(await c.call('add', { a: 1, b: 2 })).toBe(3)
    c.close()
  })
})
