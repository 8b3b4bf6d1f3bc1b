import type { StateChange } from '@switchboard/client'
import { describe, expect, it } from 'vitest'
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
      expect(await refused.json()).toMatchObject({ code: 'SERVER_SHUTDOWN' })
    } finally {
      client.close()
      await server.close()
    }
  })
})
