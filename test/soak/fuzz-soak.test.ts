import net from 'node:net'
import { fc } from '@fast-check/vitest'
import type { SwitchboardClient } from '@switchboard/client'
import type { NegotiateResponse } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient } from '../helpers/fixture.js'
import { startServerProcess, type ProcessStats, type ServerProcess } from '../helpers/server-process.js'

/**
 * A fuzz soak: over 10,000 malformed requests and frames, generated from a seed (fast-check), at
 * a server in a process of its own with sync and async handlers, while honest clients on all
 * three transports stream numbered messages beside them. The server stays up, every endpoint
 * answers bad input with a 4xx (never a 5xx), the honest clients lose nothing, and once the
 * hostile sessions expire the server's heap is back within 10% of where it started.
 * Replay a run with SWITCHBOARD_FUZZ_SEED=<seed>.
 */
const SEED = Number(process.env.SWITCHBOARD_FUZZ_SEED ?? Date.now() % 2 ** 31)
const RECOVERY_MS = 1_000
const TOKEN = 'x-switchboard-token'
const ACK = 'x-switchboard-ack'

let server: ServerProcess
let base: string
const counts = new Map<string, number>()
const statuses = new Map<number, number>()
const count = (category: string, n = 1) => counts.set(category, (counts.get(category) ?? 0) + n)

beforeAll(async () => {
  server = await startServerProcess({ recoveryMs: RECOVERY_MS, heartbeatMs: 500, pollTimeoutMs: 500 })
  base = server.url
}, 30_000)
afterAll(async () => {
  await server?.stop()
})

const sample = <T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] => fc.sample(arb, { seed: SEED + salt, numRuns: n })

/** Values that JSON can carry but no frame expects, and numbers at every edge. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, -1, -0.5, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER + 2, '', '\ud800', '\u0000'),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 4 }),
)
/** A deep array as text: JSON.parse takes it, JSON.stringify does not. */
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

/** A batch as text: well-formed, cut short, a frame of the wrong shape, or not JSON at all. */
const batchText: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(0, 2, 3, 4, 10, 11, 12, 13, 20, 99, -1), anyValue, anyValue, anyValue).map((f) => JSON.stringify([f])),
  fc
    .tuple(fc.constantFrom(12, 13), fc.nat({ max: 5 }), fc.constantFrom('echo', 'echoLater', 'room:fuzz', 'add', 'crash'), anyValue)
    .map(([t, s, n, d]) => JSON.stringify([[t, s, n, d]])),
  fc.tuple(fc.integer({ min: -5, max: 2 ** 40 })).map(([ack]) => `[[2,${ack}]]`),
  fc.tuple(fc.constantFrom('[[13,1,"echo",', '[[12,1,"room:fuzz",{"a":', '[[', '[{"x":'), fc.string({ maxLength: 10 })).map(([a, b]) => a + b),
  fc.integer({ min: 100, max: 8_000 }).map((d) => `[[13,1,"echoLater",${deep(d)}]]`),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
)

async function negotiate(): Promise<NegotiateResponse> {
  return (await (await fetch(`${base}/negotiate`, { method: 'POST', body: '{}' })).json()) as NegotiateResponse
}

/** Runs `tasks` with at most `width` in flight. */
async function pool<T>(items: T[], width: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        await task(items[i]!, i)
      }
    }),
  )
}

async function answered(category: string, res: Promise<Response>): Promise<void> {
  const r = await res
  await r.arrayBuffer().catch(() => undefined)
  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
  count(category)
  expect({ category, status: r.status < 500 }).toEqual({ category, status: true })
}

async function fuzzNegotiate(n: number) {
  const bodies = sample(
    fc.oneof(
      batchText,
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string(),
    ),
    n,
    1,
  )
  await pool(bodies, 16, (body) => answered('negotiate bodies', fetch(`${base}/negotiate`, { method: 'POST', body })))
}

async function fuzzPosts(n: number) {
  const cases = sample(fc.tuple(batchText, fc.oneof(fc.constant(undefined), fc.string({ maxLength: 8 }), fc.integer().map(String))), n, 2)
  let session = await negotiate()
  await pool(cases, 16, async ([body, ack], i) => {
    if (i % 25 === 0) session = await negotiate() // a protocol violation ends a session: use fresh ones
    const headers: Record<string, string> = { [TOKEN]: session.resumeToken }
    if (ack !== undefined) headers[ACK] = ack
    await answered('POST /send batches', fetch(`${base}/send?sid=${session.sessionId}`, { method: 'POST', headers, body }))
  })
}

async function fuzzGets(n: number) {
  const cases = sample(
    fc.tuple(fc.constantFrom('poll', 'sse', 'poll?attach=1'), fc.boolean(), fc.oneof(fc.string({ maxLength: 8 }), fc.integer().map(String))),
    n,
    3,
  )
  const session = await negotiate()
  await pool(cases, 16, async ([path, realSid, ack]) => {
    const sid = realSid ? session.sessionId : 'no-such-session'
    const sep = path.includes('?') ? '&' : '?'
    const abort = AbortSignal.timeout(1_500)
    const res = fetch(`${base}/${path}${sep}sid=${sid}`, { headers: { [TOKEN]: realSid ? session.resumeToken : 'x', [ACK]: ack }, signal: abort })
    // A good attach holds the line open (an SSE stream): the status is what counts.
    const r = await res
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    count('GET /poll and /sse')
    expect(r.status).toBeLessThan(500)
    await r.body?.cancel().catch(() => undefined)
  })
}

async function fuzzWebSocket(n: number) {
  const frames = sample(
    fc.oneof(
      batchText.map((t) => ({ text: t })),
      fc.uint8Array({ maxLength: 64 }).map((b) => ({ binary: b })),
    ),
    n,
    4,
  )
  const perSocket = 50
  await pool(
    Array.from({ length: Math.ceil(n / perSocket) }, (_, i) => frames.slice(i * perSocket, (i + 1) * perSocket)),
    8,
    async (batch, i) => {
      const s = await negotiate()
      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
      ws.on('error', () => {})
      await new Promise((r) => ws.once('open', r))
      ws.send(JSON.stringify([[0, s.resumeToken, 0, 1]]))
      for (const f of batch) {
        // Frames after the server closed the socket are sent too (the library drops them).
        if ('text' in f) ws.send(f.text)
        else ws.send(Buffer.from(f.binary), { binary: i % 2 === 0 })
        count(`WebSocket frames${'text' in f ? '' : ' (binary, or text of invalid UTF-8)'}`)
      }
      ws.close()
    },
  )
}

/** Slow headers, slow bodies and half-open sockets, over raw TCP. */
async function fuzzSockets(n: number) {
  const { port } = new URL(base)
  const kinds = ['slow headers', 'slow body', 'half-open', 'cut mid-request'] as const
  await pool(
    Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!),
    20,
    async (kind) => {
      const socket = net.connect(Number(port), '127.0.0.1')
      socket.on('error', () => {})
      await new Promise((r) => socket.once('connect', r))
      if (kind === 'slow headers') socket.write('POST /rt/negotiate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
      if (kind === 'slow body') socket.write('POST /rt/negotiate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000\r\n\r\n{"ver')
      if (kind === 'cut mid-request') socket.write('GET /rt/poll?sid=x HTTP/1.1\r\nHo')
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 150))
      socket.destroy()
      count(`TCP: ${kind}`)
    },
  )
}

/** An honest client: publishes 1..n on its own channel, and must receive each exactly once, in order. */
async function honest(transport: 'websocket' | 'sse' | 'long-polling', n: number) {
  const client: SwitchboardClient = connectClient(base, transport, { reconnect: { baseMs: 50, maxMs: 500 } })
  const name = `room:honest-${transport}`
  const seen: number[] = []
  client.channel<{ n: number }>(name).on('message', (m) => seen.push(m.data.n))
  try {
    await client.channel(name).subscribe()
    const publishes: Promise<unknown>[] = []
    for (let i = 1; i <= n; i++) {
      publishes.push(client.channel<{ n: number }>(name).publish({ n: i }))
      await new Promise((r) => setTimeout(r, 15))
    }
    await Promise.all(publishes)
    await vi.waitFor(() => expect(seen).toHaveLength(n), { timeout: 10_000 })
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1))
  } finally {
    client.close()
  }
}

async function settledStats(): Promise<ProcessStats> {
  // Every session the soak made expires after recoveryMs, and its final words recoveryMs later.
  await vi.waitFor(async () => expect((await server.stats()).sessions).toBe(0), { timeout: 15_000, interval: 250 })
  await new Promise((r) => setTimeout(r, RECOVERY_MS * 2 + 500))
  return server.stats()
}

describe(`fuzz soak (replay: SWITCHBOARD_FUZZ_SEED=${SEED})`, () => {
  it('takes 10,000+ malformed requests and frames: stays up, answers each below 500, honest clients lose nothing, memory comes back', async () => {
    // Warm every path once, so the baseline is not an unwarmed process.
    await Promise.all([
      fuzzNegotiate(150),
      fuzzPosts(400),
      fuzzGets(80),
      fuzzWebSocket(350),
      fuzzSockets(20),
      honest('websocket', 30),
      honest('sse', 30),
      honest('long-polling', 30),
    ])
    counts.clear()
    const before = await settledStats()

    await Promise.all([
      fuzzNegotiate(1_500),
      fuzzPosts(4_000),
      fuzzGets(800),
      fuzzWebSocket(3_500),
      fuzzSockets(200),
      honest('websocket', 300),
      honest('sse', 300),
      honest('long-polling', 300),
    ])
    expect(server.alive()).toBe(true)

    const after = await settledStats()
    const total = [...counts.entries()].filter(([k]) => !k.startsWith('honest')).reduce((n, [, v]) => n + v, 0)
    const lines = [...counts.entries()].map(([k, v]) => `  ${k.padEnd(48)} ${v}`)
    const codes = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`)
    console.log(
      [
        `fuzz soak, seed ${SEED}: ${total} malformed requests and frames`,
        ...lines,
        `  HTTP statuses: ${codes.join(', ')}`,
        `  server heap after GC: ${(before.heapUsed / 2 ** 20).toFixed(1)} MiB before, ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB after (${((after.heapUsed / before.heapUsed - 1) * 100).toFixed(1)}%); rss ${(before.rss / 2 ** 20).toFixed(0)} -> ${(after.rss / 2 ** 20).toFixed(0)} MiB`,
        '  honest clients: 300 messages each on websocket, sse and long-polling, all once and in order',
      ].join('\n'),
    )
    expect(total).toBeGreaterThanOrEqual(10_000)
    expect(after.heapUsed).toBeLessThanOrEqual(before.heapUsed * 1.1)
  }, 180_000)
})
