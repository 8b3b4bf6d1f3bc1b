import { connect, type ClientOptions, type SwitchboardClient } from '@switchboard/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

/**
 * A reconnect storm: 5,000 WebSocket sessions (clients at their default reconnect settings) are
 * cut at once, every TCP connection reset as a dying proxy would; then the server process is
 * restarted in place. Every client comes back; after the cut every channel message published
 * meanwhile arrives once and in order (history); after the restart the server sees new sessions
 * at its negotiate limit, no faster: it told each client when to return (spread), and refused the
 * rest with Retry-After. Prints the time until all are back and the peak negotiate rate.
 */
const CLIENTS = 5_000
const CHANNELS = 50
const LIMIT = { negotiateRatePerSecond: 2_000, negotiateBurst: 500 }

let server: ServerProcess
let port: number
const clients: SwitchboardClient[] = []
/** Offsets received per client, for its one channel. */
const offsets: number[][] = []
const rows: string[] = []

const channelOf = (i: number) => `room:storm-${i % CHANNELS}`
const openCount = () => clients.filter((c) => c.state === 'open').length

async function announce(channel: string, n: number) {
  const res = await fetch(`${server.url.replace(/\/rt$/, '')}/api/announce`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ channel, data: { n } }),
  })
  expect(res.status).toBe(200)
}

/** Waits until every client is open, and says how long it took. */
async function allBack(since: number): Promise<number> {
  await vi.waitFor(() => expect(openCount()).toBe(CLIENTS), { timeout: 60_000, interval: 100 })
  return Date.now() - since
}

beforeAll(async () => {
  server = await startServerProcess({ ...LIMIT, recoveryMs: 30_000 })
  port = Number(new URL(server.url).port)
  const options: ClientOptions = { WebSocket: WebSocket as unknown as ClientOptions['WebSocket'], transports: ['websocket'] }
  for (let i = 0; i < CLIENTS; i++) {
    const client = connect(server.url, options)
    const seen: number[] = []
    client.channel<{ n: number }>(channelOf(i)).on('message', (m) => seen.push(m.offset))
    clients.push(client)
    offsets.push(seen)
  }
  await Promise.all(clients.map((c, i) => c.channel(channelOf(i)).subscribe()))
}, 120_000)

afterAll(async () => {
  for (const c of clients) c.close()
  await server?.stop()
  if (rows.length) console.log([`reconnect storm, ${CLIENTS} WebSocket sessions on ${CHANNELS} channels:`, ...rows].join('\n'))
})

describe('a reconnect storm', () => {
  it(`brings ${CLIENTS} sessions back after every connection is reset, with every message published meanwhile`, async () => {
    const before = clients.map((c) => c.sessionId)
    const { negotiates } = await server.stats()
    const cutAt = Date.now()
    await server.cutAll()
    await vi.waitFor(() => expect(openCount()).toBeLessThan(CLIENTS / 2), { timeout: 10_000, interval: 20 })
    for (let k = 0; k < CHANNELS; k++) for (let n = 1; n <= 3; n++) await announce(`room:storm-${k}`, n)
    const backMs = await allBack(cutAt)
    await vi.waitFor(() => expect(offsets.every((seen) => seen.length === 3)).toBe(true), { timeout: 30_000, interval: 100 })
    for (const seen of offsets) expect(seen).toEqual([1, 2, 3])
    const after = await server.stats()
    const resumed = clients.filter((c, i) => c.sessionId === before[i]).length
    rows.push(
      `  cut: all back in ${backMs} ms; ${resumed} resumed their session, ${after.negotiates - negotiates} negotiates; ${CHANNELS * 3} messages published during the cut, each received once by its ${CLIENTS / CHANNELS} subscribers`,
    )
    expect(server.alive()).toBe(true)
  }, 120_000)

  it(`brings them back after a restart in place, no faster than the negotiate limit (${LIMIT.negotiateRatePerSecond}/s, burst ${LIMIT.negotiateBurst})`, async () => {
    await allBack(Date.now()) // a failed test before this one may have left some on their way back
    const before = clients.map((c) => c.sessionId)
    const stoppedAt = Date.now()
    await server.stop() // SIGTERM: sb.close() tells every session when to come back, spread
    server = await startServerProcess({ ...LIMIT, recoveryMs: 30_000 }, port)
    const backMs = await allBack(stoppedAt)
    const stats = await server.stats()
    expect(clients.every((c, i) => c.sessionId !== before[i])).toBe(true)
    // Every new session took a token: per 100 ms at most the burst plus a tenth of a second's rate.
    expect(stats.peakNegotiatesPer100Ms).toBeLessThanOrEqual(LIMIT.negotiateBurst + LIMIT.negotiateRatePerSecond / 10 + 1)
    // Still subscribed, on the new server.
    await announce('room:storm-0', 1)
    await vi.waitFor(() => expect(offsets.filter((seen, i) => i % CHANNELS === 0 && seen.at(-1) === 1)).toHaveLength(CLIENTS / CHANNELS), {
      timeout: 30_000,
      interval: 100,
    })
    rows.push(
      `  restart: all back in ${backMs} ms (the old server spread its returns over ${(1_000 + CLIENTS) / 1_000} s); ${stats.negotiates} negotiates reached the limit, peak ${stats.peakNegotiatesPer100Ms} per 100 ms (limit ${LIMIT.negotiateBurst} burst + ${LIMIT.negotiateRatePerSecond}/s)`,
    )
  }, 120_000)
})
