import type { SwitchboardClient, SwitchboardError } from '@switchboard/client'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, connectClient as connectTo, startServer, TRANSPORT_CASES, type ChatMessage, type TestServer } from './helpers/fixture.js'

let server: TestServer
const clients: SwitchboardClient[] = []

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: SwitchboardError) => e.code,
  )

/** Every transport case, and WebSocket once more after an HTTP negotiate (a client with headers), the way it negotiates otherwise. */
const CASES = [...TRANSPORT_CASES, ['websocket', ' after an HTTP negotiate', { headers: {} }]] as const

// The same application code, run unchanged on each forced transport (the HTTP ones over node:http and fetch).
describe.each(CASES)('over %s%s', (transport, via, options) => {
  const label = `${transport}${via.replaceAll(' ', '-')}`
  const connectClient = (url: string, t: typeof transport) => connectTo(url, t, options)
  const open = async () => {
    const c = connectClient(server.url, transport)
    clients.push(c)
    await c.ready()
    return c
  }

  it('opens on the forced transport and reports it', async () => {
    const c = connectClient(server.url, transport)
    clients.push(c)
    const states: string[] = []
    const transports: (string | null)[] = []
    c.on('state', (e) => states.push(`${e.from}->${e.to}`))
    c.on('transport', (e) => transports.push(e.to))
    await c.ready()
    expect(c.transport).toBe(transport)
    expect(c.state).toBe('open')
    expect(states).toEqual(['idle->connecting', 'connecting->open'])
    expect(transports).toEqual([transport])
    expect(c.sessionId).toMatch(/^[A-Za-z0-9_-]{22,}$/)
  })

  it('subscribes, publishes with an ack carrying the offset, and receives its own message', async () => {
    const c = await open()
    const room = c.channel<ChatMessage>(`room:${label}-own`)
    const got = collect<ChatMessage>(c, room.name)
    await room.subscribe()
    expect(room.state).toBe('subscribed')
    const ack = await room.publish({ user: 'ann', text: 'hello' })
    expect(ack.offset).toBe(1)
    await vi.waitFor(() => expect(got).toEqual([{ user: 'ann', text: 'hello' }]))
  })

  it('replays the latest messages to a newcomer that asks for them, then live ones, each once', async () => {
    const name = `room:${label}-recent`
    const early = await open()
    for (let i = 1; i <= 5; i++) await early.channel<ChatMessage>(name).publish({ user: 'early', text: `m${i}` })
    const late = await open()
    const got = collect<ChatMessage>(late, name)
    await late.channel(name).subscribe({ recent: 3 })
    expect(late.channel(name).offset).toBe(5)
    await early.channel<ChatMessage>(name).publish({ user: 'early', text: 'm6' })
    await vi.waitFor(() => expect(got.map((m) => m.text)).toEqual(['m3', 'm4', 'm5', 'm6']))
  })

  it('fans out to several clients, in publish order', async () => {
    const name = `room:${label}-fan`
    const subs = await Promise.all([open(), open(), open()])
    const seen = subs.map((c) => collect<ChatMessage>(c, name))
    await Promise.all(subs.map((c) => c.channel(name).subscribe()))
    const publisher = await open()
    const sent = Array.from({ length: 50 }, (_, i) => ({ user: 'pub', text: `m${i}` }))
    await Promise.all(sent.map((m) => publisher.channel<ChatMessage>(name).publish(m)))
    for (const s of seen) await vi.waitFor(() => expect(s).toEqual(sent))
  })

  it('delivers a publish made by a plain REST route on the server', async () => {
    const c = await open()
    const got = collect(c, 'news')
    await c.channel('news').subscribe()
    const res = await fetch(`${server.origin}/api/announce`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'news', data: { headline: label } }),
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(200)
    await vi.waitFor(() => expect(got).toContainEqual({ headline: label }))
  })

  it('answers an RPC with its result', async () => {
    const c = await open()
    await expect(c.call<{ a: number; b: number }, number>('add', { a: 2, b: 40 })).resolves.toBe(42)
    await expect(c.call('echo', { deep: [1, 'two', { three: null }] })).resolves.toEqual({ deep: [1, 'two', { three: null }] })
  })

  it('rejects an RPC with the handler’s code, message and data', async () => {
    const c = await open()
    const error = await c.call('fail', null).catch((e: SwitchboardError) => e)
    expect(error).toMatchObject({ code: 'RPC_ERROR', message: 'nope', data: { why: 'testing' } })
  })

  it('hides an unexpected handler error behind RPC_ERROR', async () => {
    const c = await open()
    const error = await c.call('crash', null).catch((e: SwitchboardError) => e)
    expect(error).toMatchObject({ code: 'RPC_ERROR' })
    expect((error as Error).message).not.toContain('secret')
  })

  it('answers an async handler’s rejection like a thrown error: its code, or RPC_ERROR hiding the detail', async () => {
    const c = await open()
    const coded = await c.call('failLater', null).catch((e: SwitchboardError) => e)
    expect(coded).toMatchObject({ code: 'FORBIDDEN', message: 'not now', data: { why: 'async' } })
    const hidden = await c.call('crashLater', null).catch((e: SwitchboardError) => e)
    expect(hidden).toMatchObject({ code: 'RPC_ERROR' })
    expect((hidden as Error).message).not.toContain('secret')
  })

  it('times out an RPC that answers too late, and ignores the late answer', async () => {
    const c = await open()
    await expect(codeOf(c.call('slow', { ms: 300 }, { timeoutMs: 50 }))).resolves.toBe('TIMEOUT')
    // The session carries on: the late reply is dropped, the next call works.
    await expect(c.call('add', { a: 1, b: 1 })).resolves.toBe(2)
  })

  it('rejects unknown RPCs, unknown channels, forbidden channels and server-only channels with their codes', async () => {
    const c = await open()
    await expect(codeOf(c.call('nope', null))).resolves.toBe('UNKNOWN_RPC')
    await expect(codeOf(c.channel('undeclared').subscribe())).resolves.toBe('UNKNOWN_CHANNEL')
    await expect(codeOf(c.channel('private:x').subscribe())).resolves.toBe('FORBIDDEN')
    await expect(codeOf(c.channel('news').publish({}))).resolves.toBe('FORBIDDEN')
    expect(c.channel('private:x').state).toBe('unsubscribed')
  })

  it('lets onPublish reshape or refuse a message', async () => {
    const c = await open()
    const name = `checked:${label}`
    const got = collect(c, name)
    await c.channel(name).subscribe()
    await expect(codeOf(c.channel(name).publish({ bad: true }))).resolves.toBe('FORBIDDEN')
    await c.channel(name).publish({ ok: 1 })
    await vi.waitFor(() => expect(got).toEqual([{ ok: 1, checked: true }]))
  })

  it('stops delivery after unsubscribe', async () => {
    const c = await open()
    const other = await open()
    const name = `room:${label}-unsub`
    const got = collect<ChatMessage>(c, name)
    await c.channel(name).subscribe()
    await other.channel<ChatMessage>(name).publish({ user: 'o', text: 'before' })
    await vi.waitFor(() => expect(got).toHaveLength(1))
    await c.channel(name).unsubscribe()
    expect(c.channel(name).state).toBe('unsubscribed')
    await other.channel<ChatMessage>(name).publish({ user: 'o', text: 'after' })
    // A marker on another channel, published later, proves the 'after' message had its chance to arrive.
    const marker = collect(c, `room:${label}-marker`)
    await c.channel(`room:${label}-marker`).subscribe()
    await other.channel(`room:${label}-marker`).publish({ user: 'o', text: 'marker' })
    await vi.waitFor(() => expect(marker).toHaveLength(1))
    expect(got).toEqual([{ user: 'o', text: 'before' }])
  })

  it('closes: state closed, pending and later requests rejected with CLOSED, the server forgets nothing it owes others', async () => {
    const c = connectClient(server.url, transport)
    await c.ready()
    const before = server.sb.sessionCount
    const pending = c.call('slow', { ms: 2000 })
    c.close()
    expect(c.state).toBe('closed')
    await expect(codeOf(pending)).resolves.toBe('CLOSED')
    await expect(codeOf(c.channel('room:x').publish({ user: 'a', text: 'b' }))).resolves.toBe('CLOSED')
    expect(before).toBeGreaterThan(0)
    const other = await open()
    await expect(other.call('add', { a: 1, b: 2 })).resolves.toBe(3)
  })

  it('rejects a publish larger than maxMessageBytes before sending it', async () => {
    const c = await open()
    await expect(codeOf(c.channel('room:big').publish({ user: 'x', text: 'y'.repeat(70_000) }))).resolves.toBe('MESSAGE_TOO_LARGE')
    await expect(c.call('add', { a: 1, b: 2 })).resolves.toBe(3)
  })

  // A window as large as the default outbox. In one process the ACK rarely trails the replies, so
  // the reply-acks-its-call rule that keeps SSE from OUTBOX_FULL is pinned by the ClientSession
  // unit test ("takes a reply to request n as the ack of n ..."); this checks the whole path.
  it('answers 4,000 calls with 1,000 (the default outbox) in flight, every one, in order', async () => {
    const c = await open()
    const total = 4_000
    const window = 1_000 // the default maxOutboxFrames
    const results: number[] = []
    const rejected: string[] = []
    let sent = 0
    await new Promise<void>((resolve) => {
      const fill = () => {
        while (sent < total && sent - (results.length + rejected.length) < window) {
          const i = sent++
          c.call<{ i: number }, { i: number }>('echo', { i }).then(
            (r) => (results.push(r.i), results.length + rejected.length === total ? resolve() : fill()),
            (e: SwitchboardError) => (rejected.push(e.code), results.length + rejected.length === total ? resolve() : fill()),
          )
        }
      }
      fill()
    })
    expect(rejected).toEqual([])
    expect(results).toEqual(Array.from({ length: total }, (_, i) => i))
  })

  it('splits a queue larger than maxBatchBytes into batches the server takes, both ways', async () => {
    const c = await open()
    const sessionId = c.sessionId
    const pad = 'x'.repeat(8_000)
    // 300 calls of 8 KB queued at once: 2.4 MB each way, over the 1 MiB batch limit.
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => c.call<unknown, { i: number; pad: string }>('echo', { i, pad })))
    expect(replies.map((r) => r.i)).toEqual(Array.from({ length: 300 }, (_, i) => i))
    expect(replies.every((r) => r.pad === pad)).toBe(true)
    expect(c.sessionId).toBe(sessionId)
    expect(c.state).toBe('open')
  })
})
