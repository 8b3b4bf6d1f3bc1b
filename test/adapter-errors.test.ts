import type { SwitchboardError } from '@switchboard/client'
import { createMemoryAdapter, type Adapter, type LogEvent } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startBystander, type Bystander } from './helpers/bystander.js'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'

/**
 * An adapter that cannot serve a subscribe (its broker is down, say): the subscribe is refused
 * with INTERNAL, this node holds no interest it does not need, other channels carry on, and the
 * channel works again once the adapter does.
 */
const memory = createMemoryAdapter()
const failing = { subscribe: false, history: false }
const interest: string[] = []
const adapter: Adapter = {
  ...memory,
  subscribe(channel) {
    interest.push(`+${channel}`)
    return failing.subscribe ? Promise.reject(new Error('broker down')) : memory.subscribe(channel)
  },
  unsubscribe(channel) {
    interest.push(`-${channel}`)
    return memory.unsubscribe(channel)
  },
  history(channel, since) {
    return failing.history ? Promise.reject(new Error('history unreachable')) : memory.history(channel, since)
  },
}

const logged: LogEvent[] = []

let server: TestServer
let bystander: Bystander
beforeAll(async () => {
  server = await startServer({ adapter, logger: (e) => logged.push(e) })
  bystander = await startBystander(server)
})
afterAll(async () => {
  bystander.client.close()
  await server.close()
})

const codeOf = (e: unknown) => (e as SwitchboardError).code

describe.each(TRANSPORT_CASES)('an adapter that fails, over %s%s', (transport, label, options) => {
  const channel = `room:broken-${transport}${label.replaceAll(' ', '-')}`

  it('refuses the subscribe with INTERNAL, and serves it once the adapter recovers', async () => {
    const client = connectClient(server.url, transport, options)
    try {
      failing.subscribe = true
      const room = client.channel<number>(channel)
      await expect(room.subscribe().catch(codeOf)).resolves.toBe('INTERNAL')
      expect(room.state).toBe('unsubscribed')
      // The client hears only INTERNAL; the cause goes to the logger.
      expect(logged.filter((e) => e.message === `subscribe to ${channel} failed`).map((e) => (e.data as Error).message)).toEqual(['broker down'])
      await bystander.stillWorks()

      failing.subscribe = false
      const got = collect<number>(client, channel)
      await room.subscribe()
      await server.sb.publish(channel, 1)
      await vi.waitFor(() => expect(got).toEqual([1]))
      // The failed subscribe let go of its interest; the second took it again.
      expect(interest.filter((i) => i.endsWith(channel))).toEqual([`+${channel}`, `-${channel}`, `+${channel}`])
    } finally {
      failing.subscribe = false
      client.close()
    }
  })

  it('refuses a resubscribe whose history cannot be read with INTERNAL, and lets go of the channel', async () => {
    const client = connectClient(server.url, transport, options)
    const again = `${channel}-again`
    try {
      const room = client.channel<number>(again)
      await room.subscribe()
      await room.unsubscribe()
      failing.history = true
      await expect(room.subscribe().catch(codeOf)).resolves.toBe('INTERNAL')
      expect(interest.filter((i) => i.endsWith(again))).toEqual([`+${again}`, `-${again}`, `+${again}`, `-${again}`])
      await bystander.stillWorks()
    } finally {
      failing.history = false
      client.close()
    }
  })
})
