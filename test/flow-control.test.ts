import { once } from 'node:events'
import type { ClientOptions } from '@switchboard/client'
import type { TransportName } from '@switchboard/protocol'
import type { NegotiateResponse } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'

/**
 * Requests fired the way apps fire them (a loop, no window, then wait for every answer) complete:
 * past the client's outbox they wait for acks to make room instead of failing OUTBOX_FULL, and
 * past half the server's replay buffer of unacked replies the server stops taking the session's
 * requests until the client acks, instead of ending it with SLOW_CONSUMER.
 */
let server: TestServer
let small: TestServer
/** Holds few requests of a session unprocessed: fewer than a default client's outbox sends. */
let tight: TestServer

beforeAll(async () => {
  server = await startServer()
  // A replay buffer of 256 KiB: a few hundred 4 KiB replies are past it.
  small = await startServer({
    replayBufferBytes: 256 * 1024,
    replayBufferFrames: 200,
    maxPendingRequests: 2_000,
    logger: process.env.DBG ? (e) => console.log('S', e.message) : undefined,
  })
  // Its messages may be larger than what it holds unprocessed: one such request is held alone.
  tight = await startServer({
    replayBufferBytes: 256 * 1024,
    replayBufferFrames: 200,
    maxPendingRequests: 100,
    maxPendingBytes: 300 * 1024,
    maxMessageBytes: 512 * 1024,
  })
})
afterAll(async () => {
  await server?.close()
  await small?.close()
  await tight?.close()
})

const BURST = { websocket: 50_000, sse: 10_000, 'long-polling': 10_000 } as const

describe.each(TRANSPORT_CASES)('%s%s', (transport, _label, options) => {
  it('completes a burst of pipelined 64 B calls far past the outbox, every answer in order', async () => {
    const client = connectClient(server.url, transport, options)
    try {
      await client.ready()
      const n = BURST[transport]
      const calls = Array.from({ length: n }, (_, i) => client.call<{ i: number; pad: string }, { i: number }>('echo', { i, pad: 'x'.repeat(40) }))
      expect(client.queued).toBeGreaterThan(0) // the outbox holds 1,000: the rest wait
      const answers = await Promise.all(calls)
      expect(answers.map((a) => a.i)).toEqual(Array.from({ length: n }, (_, i) => i))
      expect(client.queued).toBe(0)
      await client.drained()
    } finally {
      client.close()
    }
  }, 60_000)

  it('completes 1,000 pipelined 4 KiB calls on a server whose replay buffer holds 64 of them', async () => {
    const states = await burstOf4KiB(small, transport, options)
    expect(states.filter((s) => s.includes('SLOW_CONSUMER'))).toEqual([])
  }, 60_000)

  it('keeps its outbox within what the server holds unprocessed, so a burst past it completes', async () => {
    // The server holds 100 requests and 300 KiB unprocessed: the client's outbox would send 1,000.
    expect(await burstOf4KiB(tight, transport, options)).toEqual(['connecting', 'open'])
  }, 60_000)
})

/** Fires 1,000 calls of 4 KiB in a loop, checks every answer and that the client is still open; its states on the way. */
async function burstOf4KiB(target: TestServer, transport: TransportName, options: ClientOptions): Promise<string[]> {
  const client = connectClient(target.url, transport, options)
  const states: string[] = []
  client.on('state', ({ to, code }) => states.push(`${to}${code ? `:${code}` : ''}`))
  try {
    await client.ready()
    const pad = 'y'.repeat(4 * 1024)
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => client.call<{ i: number; pad: string }, { i: number }>('echo', { i, pad })),
    )
    expect(answers.map((a) => a.i)).toEqual(Array.from({ length: 1_000 }, (_, i) => i))
    expect(client.state).toBe('open')
    return [...states] // before close() adds its own
  } finally {
    client.close()
  }
}

describe('a client that never acks', () => {
  it('is ended BACKLOG_FULL once it sends more requests than the server holds, and no one else is', async () => {
    const bystander = connectClient(small.url, 'websocket')
    await bystander.ready()
    const s = (await (await fetch(`${small.url}/negotiate`, { method: 'POST' })).json()) as NegotiateResponse
    const ws = new WebSocket(`${small.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
    try {
      await once(ws, 'open')
      ws.send(JSON.stringify([[0, s.resumeToken, 0, 1]]))
      const closed = once(ws, 'close')
      // 3,000 calls and never an ACK: 100 replies put the session past half its replay buffer, then
      // 2,000 more requests are held (maxPendingRequests), and the next one is one too many.
      for (let seq = 1; seq <= 3_000; seq += 50) {
        ws.send(JSON.stringify(Array.from({ length: 50 }, (_, i) => [13, seq + i, 'echo', { i: seq + i }])))
      }
      const [code] = (await closed) as [number]
      expect(code).toBe(4025)
      // Its final words say why, and which of its requests were processed (held ones were not).
      const poll = await fetch(`${small.url}/poll?sid=${s.sessionId}&attach=1`, { headers: { 'x-switchboard-token': s.resumeToken } })
      const final = (await poll.json()) as unknown[][]
      expect(final.at(-1)).toEqual([5, 'BACKLOG_FULL', expect.any(String), null])
      expect(final.at(-2)![1]).toBeLessThan(1_000)
      await expect(bystander.call('add', { a: 1, b: 2 })).resolves.toBe(3)
    } finally {
      ws.terminate()
      bystander.close()
    }
  })

  it('has one request larger than the bytes the server holds held alone, and is ended by the next', async () => {
    const s = (await (await fetch(`${tight.url}/negotiate`, { method: 'POST' })).json()) as NegotiateResponse
    expect([s.maxPendingRequests, s.maxPendingBytes]).toEqual([100, 300 * 1024])
    const ws = new WebSocket(`${tight.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
    const batches: unknown[][][] = []
    ws.on('message', (data) => batches.push(JSON.parse(String(data))))
    try {
      await once(ws, 'open')
      ws.send(JSON.stringify([[0, s.resumeToken, 0, 1]]))
      const closed = once(ws, 'close')
      // 100 replies never acked put the session at half its replay buffer: it takes no more requests.
      ws.send(JSON.stringify(Array.from({ length: 100 }, (_, i) => [13, i + 1, 'echo', i + 1])))
      await vi.waitFor(() => expect(batches.flat().filter((f) => f[0] === 21)).toHaveLength(100))
      // One call of 400 KiB, past the 300 KiB held at most: held, and the session still answers a PING.
      ws.send(JSON.stringify([[13, 101, 'echo', 'z'.repeat(400 * 1024)]]))
      ws.send('[[3]]')
      await vi.waitFor(() => expect(batches.flat()).toContainEqual([4]))
      ws.send(JSON.stringify([[13, 102, 'echo', 1]]))
      expect(((await closed) as [number])[0]).toBe(4025)
    } finally {
      ws.terminate()
    }
  })
})
