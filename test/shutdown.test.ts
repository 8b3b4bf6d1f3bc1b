import { once } from 'node:events'
import type { StateChange } from '@switchboard/client'
import type { NegotiateResponse } from '@switchboard/server'
import { describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient, startServer } from './helpers/fixture.js'

describe.each(['websocket', 'sse', 'long-polling'] as const)('server close over %s', (transport) => {
  it('tells connected clients SERVER_SHUTDOWN, refuses new sessions, and the client retries instead of closing', async () => {
    const server = await startServer()
    const client = connectClient(server.url, transport, { reconnect: { baseMs: 5_000, maxMs: 5_000 } })
    try {
      await client.ready()
      await client.channel('room:shutdown').subscribe()
      const changes: StateChange[] = []
      client.on('state', (e) => changes.push(e))
      await server.sb.close({ reconnectMs: 5_000 })
      await expect.poll(() => changes.map((c) => `${c.to}:${c.code}`)).toContain('backoff:SERVER_SHUTDOWN')
      expect(client.state).toBe('backoff')
      expect(server.sb.sessionCount).toBe(0)
      const refused = await fetch(`${server.url}/negotiate`, { method: 'POST' })
      expect(refused.status).toBe(503)
      // Come back once the last session told to wait is due: reconnectMs plus the spread.
      expect(refused.headers.get('retry-after')).toBe('10')
      expect(await refused.json()).toMatchObject({ code: 'SERVER_SHUTDOWN', retryAfterMs: 10_000 })
    } finally {
      client.close()
      await server.close()
    }
  })
})

describe('a restart does not bring every client back in the same millisecond', () => {
  it('spreads the reconnectMs each session is told over reconnectMs + spreadMs', async () => {
    const server = await startServer()
    const closeFrames: unknown[][] = []
    const sockets: WebSocket[] = []
    try {
      for (let i = 0; i < 40; i++) {
        const s = (await (await fetch(`${server.url}/negotiate`, { method: 'POST' })).json()) as NegotiateResponse
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
        ws.on('message', (data) => {
          for (const f of JSON.parse(String(data)) as unknown[][]) if (f[0] === 5) closeFrames.push(f)
        })
        await once(ws, 'open')
        ws.send(JSON.stringify([[0, s.resumeToken, 0, 1]]))
        sockets.push(ws)
      }
      await vi.waitFor(() => expect(server.sb.sessionCount).toBe(40))
      await server.sb.close({ reconnectMs: 200, spreadMs: 1_000 })
      await vi.waitFor(() => expect(closeFrames).toHaveLength(40))
      const delays = closeFrames.map((f) => f[3] as number)
      for (const ms of delays) expect(ms).toBeGreaterThanOrEqual(200)
      for (const ms of delays) expect(ms).toBeLessThan(1_200)
      // 40 draws from 1,000 values: all alike would mean no spread at all.
      expect(new Set(delays).size).toBeGreaterThan(20)
    } finally {
      for (const ws of sockets) ws.terminate()
      await server.close()
    }
  })
})
