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

/**
 * Frames of multi-byte text large enough that a batch of them is cut by its UTF-8 size, not by
 * the bound of 3 bytes per UTF-16 unit. Each side sizes such frames from their parts (see
 * ReplayBuffer.append): a size counted short would put a batch over maxBatchBytes. The answers
 * to a long-polling client's requests are its batches from the server, measured here.
 */
describe('frames of 32 KB of multi-byte text, many to a batch', () => {
  const BIG = TEXT.repeat(16) // 21,122 UTF-16 units as JSON, 32,642 UTF-8 bytes
  const MAX_BATCH_BYTES = 1_048_576

  /** A fetch that records the size of every answer. */
  const measuring =
    (answers: number[]): typeof globalThis.fetch =>
    async (input, init) => {
      const response = await globalThis.fetch(input, init)
      answers.push((await response.clone().arrayBuffer()).byteLength)
      return response
    }

  // The server refuses a batch over the bound from the client, and the session with it. 250 calls
  // are more than the outbox holds (4 MiB of UTF-16 units): the later ones wait for room as parts.
  it.each(['websocket', 'sse', 'long-polling'] as const)('calls fired in a loop all come back over %s', async (transport) => {
    const client = connectClient(server.url, transport, { reconnect: false })
    try {
      await client.ready()
      const replies = await Promise.all(Array.from({ length: 250 }, () => client.call('echo', { text: BIG })))
      expect(replies.every((r) => (r as { text: string }).text === BIG)).toBe(true)
    } finally {
      client.close()
    }
  })

  it('replies larger than their calls leave the server in answers cut close to the bound, never past it', async () => {
    const answers: number[] = []
    const client = connectClient(server.url, 'long-polling', { reconnect: false, fetch: measuring(answers) })
    try {
      await client.ready()
      const calls = Array.from({ length: 80 }, () => client.call('repeat', { text: TEXT, times: 16 }))
      expect((await Promise.all(calls)).every((r) => r === BIG)).toBe(true)
      expect(Math.max(...answers)).toBeLessThanOrEqual(MAX_BATCH_BYTES)
      expect(Math.max(...answers)).toBeGreaterThan(MAX_BATCH_BYTES / 2)
    } finally {
      client.close()
    }
  })

  it('messages published in a loop reach a subscriber in answers cut close to the bound, never past it', async () => {
    const answers: number[] = []
    const client = connectClient(server.url, 'long-polling', { reconnect: false, fetch: measuring(answers) })
    const room = 'room:utf8-fan-out'
    try {
      await client.ready()
      const got = collect<string>(client, room)
      await client.channel(room).subscribe()
      const offsets = await Promise.all(Array.from({ length: 80 }, () => server.sb.publish(room, BIG)))
      expect(offsets).toHaveLength(80)
      await vi.waitFor(() => expect(got).toHaveLength(80), { timeout: 10_000 })
      expect(got.every((m) => m === BIG)).toBe(true)
      expect(Math.max(...answers)).toBeLessThanOrEqual(MAX_BATCH_BYTES)
      expect(Math.max(...answers)).toBeGreaterThan(MAX_BATCH_BYTES / 2)
    } finally {
      client.close()
    }
  })
})
