import type { SessionChange } from '@switchboard/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'

/**
 * Outages of 0.5x to 5x recoveryMs (laptop lid, a train tunnel): the network is down (every
 * connection reset) for that long, messages are published meanwhile and the user publishes while
 * offline. Whatever the length, the client resumes its session or starts a new one, says which,
 * never closes, catches up on its channel, and its offline publish is processed exactly once.
 * Inside the window the client retries at least every fifth of it, so a network back by half of
 * it finds the session still held.
 */
const RECOVERY_MS = 1_000
const FACTORS = [0.5, 1, 1.5, 2, 5]
const PUBLISHED_DURING = 4

let server: TestServer
const rows: { key: string; line: string }[] = []

beforeAll(async () => {
  server = await startServer({ recoveryMs: RECOVERY_MS, heartbeatMs: 400, pollTimeoutMs: 400 })
})
afterAll(async () => {
  await server?.close()
  if (rows.length)
    console.log(
      [
        'outage table (recoveryMs 1000):',
        'transport            outage   outcome                    back after  offsets',
        ...rows.sort((a, b) => a.key.localeCompare(b.key)).map((r) => r.line),
      ].join('\n'),
    )
})

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function outage(transport: (typeof TRANSPORT_CASES)[number][0], label: string, options: object, factor: number) {
  const proxy = await startTcpProxy({ targetPort: server.port })
  const client = connectClient(`${proxy.url}/rt`, transport, { upgrade: false, ...options })
  const states: string[] = []
  const sessions: SessionChange[] = []
  client.on('state', ({ to }) => states.push(to))
  client.on('session', (s) => sessions.push(s))
  const name = `room:outage-${transport}${label.replace(/\W/g, '')}-${factor}`
  const channel = client.channel<{ n: number } | { offline: true }>(name)
  const offsets: number[] = []
  channel.on('message', (m) => offsets.push(m.offset))
  try {
    await channel.subscribe()
    await server.sb.publish(name, { n: 0 })
    await vi.waitFor(() => expect(offsets).toEqual([1]))

    proxy.setDown(true)
    await vi.waitFor(() => expect(client.state).toBe('backoff'))
    // Typed while offline: it waits in the outbox.
    const offline = channel.publish({ offline: true })
    const step = (factor * RECOVERY_MS) / PUBLISHED_DURING
    for (let n = 1; n <= PUBLISHED_DURING; n++) {
      await wait(step)
      await server.sb.publish(name, { n })
    }
    proxy.setDown(false)
    const upAt = Date.now()
    await vi.waitFor(() => expect(client.state).toBe('open'), { timeout: 10_000 })
    const backMs = Date.now() - upAt
    const { offset } = await offline
    const last = PUBLISHED_DURING + 2
    // Every message once, in order: the offline publish among them.
    await vi.waitFor(() => expect(offsets).toEqual(Array.from({ length: last }, (_, i) => i + 1)), { timeout: 10_000 })
    expect(offset).toBeGreaterThan(1)
    expect(states).not.toContain('closed')
    const change = sessions.at(-1)
    const outcome = change === undefined ? 'none' : change.resumed ? 'resumed' : `new session (${change.reason})`
    rows.push({
      key: `${transport}${label} ${String(factor).padStart(4)}`,
      line: `${(transport + label).padEnd(20)} ${`${factor}x`.padEnd(8)} ${outcome.padEnd(26)} ${`${backMs} ms`.padEnd(11)} 1..${last}`,
    })
    return { change }
  } finally {
    client.close()
    await proxy.close()
  }
}

describe.concurrent.each(TRANSPORT_CASES)('%s%s', (transport, label, options) => {
  it.each(FACTORS)('after an outage of %sx recoveryMs it resumes or starts a new session, never closes, and catches up', async (factor) => {
    const { change } = await outage(transport, label, options, factor)
    expect(change).toBeDefined()
    // Well inside the window the session is resumed; far past it (its final words gone too) a
    // new one starts and says why.
    if (factor <= 0.5) expect(change).toMatchObject({ resumed: true })
    if (factor >= 5) expect(change).toMatchObject({ resumed: false, reason: 'UNKNOWN_SESSION' })
    if (change?.resumed === false) expect(['SESSION_LOST', 'UNKNOWN_SESSION']).toContain(change.reason)
  })
})
