import { once } from 'node:events'
import type { Subscribed, SwitchboardClient } from '@switchboard/client'
import { decodeServerBatch, encodeFrame, FrameType, PROTOCOL_VERSION } from '@switchboard/protocol'
import { createMemoryAdapter, type NegotiateResponse, type SubscribeResult } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { slowAdapter } from './helpers/slow-adapter.js'

/**
 * A subscribe served by an adapter that answers in 30 ms: messages keep being published while
 * it registers interest and reads the position or history. Whatever the timing, the subscriber
 * gets every message after the offset its subscribe reports, once, in order.
 */
const ADAPTERS = [
  ['deliveries at once', 0],
  // Later than a call's answer: a message read from history may arrive live after the subscribe.
  ['deliveries 60 ms late, as a broker’s pub/sub lags behind its commands', 60],
] as const

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

/**
 * Publishes every few milliseconds (a load, not a wait) until `during` settles, and a few more
 * after it; resolves to the last offset published.
 */
async function publishThrough(server: TestServer, channel: string, during: Promise<unknown>): Promise<number> {
  let settled = false
  void during.finally(() => (settled = true))
  const offsets: Promise<number>[] = []
  for (let after = 0; after < 5; after += settled ? 1 : 0) {
    offsets.push(server.sb.publish(channel, offsets.length))
    await new Promise((resolve) => setTimeout(resolve, 3))
  }
  return Math.max(...(await Promise.all(offsets)))
}

/** Subscribes while messages are published; resolves to the answer and the offsets received. */
async function subscribeDuringPublishes(server: TestServer, client: SwitchboardClient, channel: string) {
  const room = client.channel<number>(channel)
  const offsets: number[] = []
  const off = room.on('message', (m) => offsets.push(m.offset))
  const subscribed = new Promise<Subscribed>((resolve) => room.once('subscribed', resolve))
  const last = await publishThrough(server, channel, room.subscribe())
  const result = await subscribed
  await vi.waitFor(() => expect(offsets.at(-1)).toBe(last), { timeout: 5_000 })
  off()
  return { result, offsets, last }
}

describe.each(ADAPTERS)('subscribing while messages are published, with %s', (_label, deliveryLatencyMs) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ adapter: slowAdapter(createMemoryAdapter(), { latencyMs: 30, deliveryLatencyMs }) })
  })
  afterAll(() => server.close())

  describe.each(TRANSPORT_CASES)('over %s%s', (transport, label, options) => {
    const name = `room:race-${deliveryLatencyMs}-${transport}${label.replaceAll(' ', '-')}`

    it('misses no message published while the subscribe is served', async () => {
      const client = connectClient(server.url, transport, options)
      try {
        await server.sb.publish(`${name}-fresh`, 'before')
        const { result, offsets, last } = await subscribeDuringPublishes(server, client, `${name}-fresh`)
        expect(result.recovered).toBe(true)
        // Everything after the offset the subscribe reported, each once, in order.
        expect(offsets[0]).toBeLessThanOrEqual(result.offset + 1)
        expect(offsets).toEqual(range(offsets[0]!, last))
      } finally {
        client.close()
      }
    })

    it('misses no message published while a resubscribe replays history', async () => {
      const client = connectClient(server.url, transport, options)
      const channel = `${name}-again`
      try {
        const room = client.channel<number>(channel)
        await room.subscribe()
        await server.sb.publish(channel, 'first')
        await vi.waitFor(() => expect(room.offset).toBe(1))
        await room.unsubscribe()
        await server.sb.publish(channel, 'while away')
        const { result, offsets, last } = await subscribeDuringPublishes(server, client, channel)
        expect(result).toMatchObject({ recovered: true })
        expect(offsets).toEqual(range(2, last))
      } finally {
        client.close()
      }
    })
  })

  it('never sends a message twice on the wire', async () => {
    const channel = `room:race-${deliveryLatencyMs}-wire`
    await server.sb.publish(channel, 'before')
    const wire = await openRawSession(server.url)
    try {
      // With the recent messages first: read from history, they may also come in live, late.
      wire.send(encodeFrame([FrameType.SUBSCRIBE, 1, channel, null, 100]))
      const last = await publishThrough(
        server,
        channel,
        vi.waitFor(() => expect(wire.result).toBeDefined(), { timeout: 5_000 }),
      )
      await vi.waitFor(() => expect(wire.offsets.at(-1)).toBe(last), { timeout: 5_000 })
      expect(wire.offsets).toEqual(range(wire.offsets[0]!, last))
      expect(wire.offsets[0]).toBeLessThanOrEqual(wire.result!.offset + 1)
    } finally {
      wire.socket.close()
    }
  })
})

/** A session spoken to over a raw WebSocket: every MESSAGE offset and the first REPLY, as they arrive. */
async function openRawSession(url: string) {
  const negotiated = await fetch(`${url}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  const { sessionId, resumeToken } = (await negotiated.json()) as NegotiateResponse
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws?sid=${sessionId}`)
  const wire = {
    socket,
    offsets: [] as number[],
    result: undefined as SubscribeResult | undefined,
    send: (frame: string) => socket.send(`[${frame}]`),
  }
  socket.on('message', (data) => {
    for (const frame of decodeServerBatch(String(data))) {
      if (frame[0] === FrameType.MESSAGE) wire.offsets.push(frame[4])
      if (frame[0] === FrameType.REPLY && wire.result === undefined) wire.result = frame[4] as SubscribeResult
    }
  })
  await once(socket, 'open')
  wire.send(encodeFrame([FrameType.HELLO, resumeToken, 0, PROTOCOL_VERSION]))
  await once(socket, 'message') // WELCOME
  return wire
}
