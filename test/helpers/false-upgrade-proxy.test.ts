import { once } from 'node:events'
import type { StateChange } from '@switchboard/client'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { WebSocket } from 'ws'
import { collect, connectClient, startServer, type ChatMessage, type TestServer } from './fixture.js'
import { startFalseUpgradeProxy, type FalseUpgradeProxy } from './false-upgrade-proxy.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setUp(): Promise<{ server: TestServer; proxy: FalseUpgradeProxy }> {
  const server = await startServer()
  cleanups.push(() => server.close())
  const proxy = await startFalseUpgradeProxy({ targetPort: server.port })
  cleanups.push(() => proxy.close())
  return { server, proxy }
}

describe('false-upgrade proxy', () => {
  test('answers a WebSocket upgrade with a valid 101, then swallows what the client sends and answers nothing', async () => {
    const { proxy } = await setUp()
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/rt/ws`)
    cleanups.push(() => ws.terminate())
    const messages: unknown[] = []
    ws.on('message', (m) => messages.push(m))
    await once(ws, 'open') // `ws` checked Sec-WebSocket-Accept
    ws.send('hello?')
    ws.ping()
    await vi.waitFor(() => expect(proxy.bytesSwallowed).toBeGreaterThan(0))
    expect(proxy.upgradesSwallowed).toBe(1)
    expect(messages).toEqual([])
    expect(ws.readyState).toBe(WebSocket.OPEN)
  })

  test('passes ordinary requests through, so the client abandons the silent WebSocket for SSE and stays there', async () => {
    const { server, proxy } = await setUp()
    const states: StateChange[] = []
    const client = connectClient(`${proxy.url}/rt`, undefined, { attemptTimeoutMs: 400, upgrade: { delayMs: 50 }, rememberTransportMs: 0 })
    cleanups.push(() => client.close())
    client.on('state', (change) => states.push(change))
    const seen = collect<ChatMessage>(client, 'room:false')
    await client.channel('room:false').subscribe()
    expect(client.transport).toBe('sse')
    expect(proxy.upgradesSwallowed).toBeGreaterThanOrEqual(1)

    // A background probe of WebSocket meets the same silence and is given up; SSE carries on.
    await vi.waitFor(() => expect(states.some((s) => s.from === 'upgrading' && s.to === 'open')).toBe(true), { timeout: 5_000 })
    expect(proxy.upgradesSwallowed).toBeGreaterThanOrEqual(2)
    expect(client.transport).toBe('sse')

    await client.channel<ChatMessage>('room:false').publish({ user: 'node', text: 'through the proxy' })
    await server.sb.publish('room:false', { user: 'server', text: 'back through the proxy' })
    await vi.waitFor(() => expect(seen.map((m) => m.text)).toEqual(['through the proxy', 'back through the proxy']))
    expect(proxy.requestsForwarded).toBeGreaterThan(0)
  })
})
