import type { SwitchboardClient } from '@switchboard/client'
import { expect, vi } from 'vitest'
import { collect, connectClient, type TestServer } from './fixture.js'

/** A session that has nothing to do with a failure, and must not notice it. */
export interface Bystander {
  client: SwitchboardClient
  /** Resolves once the bystander has received a fresh publish and answered a call. */
  stillWorks(): Promise<void>
}

/** Connects a WebSocket client to `server` and subscribes it to `room:bystander`. */
export async function startBystander(server: TestServer): Promise<Bystander> {
  const client = connectClient(server.url, 'websocket')
  await client.channel('room:bystander').subscribe()
  return {
    client,
    async stillWorks() {
      const got = collect<number>(client, 'room:bystander')
      const n = Math.random()
      await server.sb.publish('room:bystander', n)
      // Generous: after a broker restart, a node takes a moment to resubscribe its channels.
      await vi.waitFor(() => expect(got).toContain(n), { timeout: 5_000 })
      await expect(client.call('add', { a: 1, b: 1 })).resolves.toBe(2)
    },
  }
}
