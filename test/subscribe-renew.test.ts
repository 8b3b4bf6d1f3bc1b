import type { SessionChange, Subscribed, SwitchboardClient } from '@switchboard/client'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startBystander, type Bystander } from './helpers/bystander.js'
import { collect, connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'

/**
 * A subscribe in flight when its session is lost: it completes on the next session (with `since`
 * where the channel had a position) or rejects with a code; it never hangs. The server ends
 * sessions itself, as in production: its replay buffer holds 8 frames, so a burst of
 * publishes the client has not acked yet, on a channel whose slow consumers are ended
 * (`slowConsumer: 'end'`), ends the session with SLOW_CONSUMER (come back at once).
 */
const BUFFER_FRAMES = 8
const BURST = 20

let server: TestServer
let bystander: Bystander
interface Gate {
  promise: Promise<boolean>
  open(allow: boolean): void
}
/** Authorize calls on `gated:*` wait for this gate while it is set; later calls resolve at once. */
let gate: Gate | null = null
/** Every gate made, opened after each test so no authorize is left waiting. */
const gates: Gate[] = []
let authorizeCalls = 0
/** What `gated:*` answers once its gate is gone: true, or false to refuse. */
let allowGated = true

function makeGate(): Gate {
  let open!: (allow: boolean) => void
  const promise = new Promise<boolean>((resolve) => (open = resolve))
  gates.push({ promise, open })
  return { promise, open }
}

beforeAll(async () => {
  server = await startServer({ replayBufferFrames: BUFFER_FRAMES })
  server.sb
    .channel('flood:*', { slowConsumer: 'end' }) // no history: a resubscribe replays nothing
    .channel('ending:*', { slowConsumer: 'end', historySize: 100 })
    .channel('gated:*', {
      authorize: () => {
        authorizeCalls++
        return gate?.promise ?? allowGated
      },
    })
  bystander = await startBystander(server)
})
afterAll(async () => {
  bystander.client.close()
  await server.close()
})

const clients: SwitchboardClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  for (const g of gates.splice(0)) g.open(true)
  gate = null
  authorizeCalls = 0
  allowGated = true
})

/** Publishes BURST messages at once: the session's replay buffer overflows before any ack can come back. */
function burst(channel: string): Promise<number[]> {
  return Promise.all(Array.from({ length: BURST }, (_, n) => server.sb.publish(channel, { n })))
}

/** A client on `transport`, with its session changes recorded. */
function open(transport: (typeof TRANSPORT_CASES)[number][0], options: (typeof TRANSPORT_CASES)[number][2]) {
  const client = connectClient(server.url, transport, { ...options, upgrade: false })
  clients.push(client)
  const sessions: SessionChange[] = []
  client.on('session', (e) => sessions.push(e))
  return { client, sessions }
}

/**
 * Subscribes to a `flood:` channel (to end the session with later), then starts a subscribe to
 * `name` and waits until the server's authorize holds it. The flood subscribe goes first: the
 * session handles a client's frames in order, so it would wait behind the held one.
 */
async function subscribeHeld(client: SwitchboardClient, name: string) {
  const flood = `flood:${name.replace(/:/g, '-')}`
  await client.channel(flood).subscribe()
  gate = makeGate()
  const channel = client.channel<{ n: number }>(name)
  const subscribed: Subscribed[] = []
  channel.on('subscribed', (e) => subscribed.push(e))
  // How the subscribe() call ended: 'resolved', or the code it rejected with; undefined while pending.
  const outcome: { value?: string } = {}
  channel.subscribe().then(
    () => (outcome.value = 'resolved'),
    (e: { code?: string }) => (outcome.value = e.code),
  )
  await vi.waitFor(() => expect(authorizeCalls).toBe(1))
  return { channel, subscribed, outcome, flood }
}

/** Ends the client's session from the server (SLOW_CONSUMER) and waits until the client knows. */
async function loseSession(flood: string, sessions: SessionChange[]) {
  const before = sessions.length
  await burst(flood)
  await vi.waitFor(() => expect(sessions.slice(before)).toContainEqual(expect.objectContaining({ resumed: false, reason: 'SLOW_CONSUMER' })))
}

describe.each(TRANSPORT_CASES)('a subscribe in flight when the session is lost, over %s%s', (transport, label, options) => {
  const tag = `${transport}${label.replace(/\W+/g, '-')}`

  it('completes on the new session when the server ended the old one while authorize was running', async () => {
    const { client, sessions } = open(transport, options)
    await client.ready()
    const { channel, subscribed, outcome, flood } = await subscribeHeld(client, `gated:held-${tag}`)
    const held = gate!
    gate = null // the resubscribe on the next session is allowed at once

    await loseSession(flood, sessions)
    await vi.waitFor(() => expect(outcome.value).toBe('resolved'), { timeout: 5_000 })
    expect(channel.state).toBe('subscribed')
    expect(authorizeCalls).toBe(2)
    // The old session's authorize finishes late: nothing more happens.
    held.open(true)
    const got = collect<{ n: number }>(client, `gated:held-${tag}`)
    await server.sb.publish(`gated:held-${tag}`, { n: 1 })
    await vi.waitFor(() => expect(got).toEqual([{ n: 1 }]))
    expect(subscribed).toHaveLength(1)
    expect(channel.state).toBe('subscribed')
    await bystander.stillWorks()
  })

  it('rejects FORBIDDEN when the resubscribe on the new session is refused', async () => {
    const { client, sessions } = open(transport, options)
    await client.ready()
    const { channel, subscribed, outcome, flood } = await subscribeHeld(client, `gated:refused-${tag}`)
    gate = null
    allowGated = false

    await loseSession(flood, sessions)
    await vi.waitFor(() => expect(outcome.value).toBe('FORBIDDEN'), { timeout: 5_000 })
    expect(authorizeCalls).toBe(2)
    expect(channel.state).toBe('unsubscribed')
    expect(subscribed).toEqual([])
    await bystander.stillWorks()
  })

  it('rejects CLOSED when the client is closed before a new session comes', async () => {
    const { client } = open(transport, options)
    await client.ready()
    const { channel, outcome, flood } = await subscribeHeld(client, `gated:closed-${tag}`)
    // Closed once the session is gone, as the client sets out to negotiate the next one.
    client.on('state', ({ from, to }) => from === 'backoff' && to === 'connecting' && client.close())

    await burst(flood)
    await vi.waitFor(() => expect(outcome.value).toBe('CLOSED'), { timeout: 5_000 })
    expect(channel.state).toBe('unsubscribed')
    await bystander.stillWorks()
  })

  it('resubscribes after SLOW_CONSUMER twice in a row, the second during the history replay, with every message once', async () => {
    const { client, sessions } = open(transport, options)
    const name = `ending:twice-${tag}`
    const channel = client.channel<{ n: number }>(name)
    const got: number[] = []
    channel.on('message', ({ data }) => got.push(data.n))
    const subscribed: Subscribed[] = []
    channel.on('subscribed', (e) => subscribed.push(e))
    await channel.subscribe()

    // The first burst ends the session; the resubscribe replays at least BURST - BUFFER_FRAMES
    // messages from history into an empty buffer of BUFFER_FRAMES: the second SLOW_CONSUMER.
    await burst(name)
    await vi.waitFor(() => expect(got).toEqual(Array.from({ length: BURST }, (_, i) => i)), { timeout: 5_000 })
    await vi.waitFor(() => expect(channel.state).toBe('subscribed'))
    const lost = sessions.filter((s) => !s.resumed)
    expect(lost.length).toBeGreaterThanOrEqual(2)
    expect(lost.every((s) => s.reason === 'SLOW_CONSUMER')).toBe(true)
    // Once for the first subscribe and once for the resubscribe that went through.
    expect(subscribed).toHaveLength(2)
    expect(subscribed[1]).toMatchObject({ recovered: true, offset: BURST })

    await server.sb.publish(name, { n: BURST })
    await vi.waitFor(() => expect(got.at(-1)).toBe(BURST))
    expect(got).toEqual(Array.from({ length: BURST + 1 }, (_, i) => i))
    await bystander.stillWorks()
  })
})
