import type { Subscribed, SwitchboardClient } from '@switchboard/client'
import { createSwitchboard, listen, type Switchboard } from '@switchboard/server'
import { Hono } from 'hono'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient, TRANSPORT_CASES } from './helpers/fixture.js'

/**
 * A resubscribe whose gap history cannot fill replays what history still holds and says exactly
 * what is missing; after a server restart (a new epoch) it replays the new epoch's history and
 * marks the old epoch's messages as unknown. Never a silent gap.
 */
const HISTORY = 5

interface GapServer {
  sb: Switchboard<null>
  url: string
  port: number
  close(): Promise<void>
}

/** A server whose `gap:*` channels keep 5 messages and `bare:*` none; `before` publishes ahead of listening. */
async function startGapServer(port = 0, before: (sb: Switchboard<null>) => Promise<unknown> = async () => {}): Promise<GapServer> {
  const sb = createSwitchboard()
  sb.channel('gap:*', { historySize: HISTORY }).channel('bare:*')
  await before(sb)
  const app = new Hono()
  app.route('/rt', sb.app)
  const server = await listen(app, { port })
  return {
    sb,
    url: `${server.url}/rt`,
    port: server.port,
    async close() {
      await sb.close({ reconnectMs: 20 })
      await server.close()
    },
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
async function publishRange(sb: Switchboard<null>, channel: string, from: number, to: number) {
  for (const n of range(from, to)) await sb.publish(channel, n)
}

/** Follows a channel: the offsets it delivers and every `subscribed` answer. */
function follow(client: SwitchboardClient, channel: string) {
  const room = client.channel<number>(channel)
  const offsets: number[] = []
  const answers: Subscribed[] = []
  room.on('message', (m) => offsets.push(m.offset))
  room.on('subscribed', (s) => answers.push(s))
  return { room, offsets, answers }
}

describe.each(TRANSPORT_CASES)('gaps over %s%s', (transport, label, options) => {
  let server: GapServer
  let client: SwitchboardClient
  const name = (base: string) => `${base}-${transport}${label.replaceAll(' ', '-')}`
  beforeAll(async () => {
    server = await startGapServer()
    client = connectClient(server.url, transport, options)
  })
  afterAll(async () => {
    client.close()
    await server.close()
  })

  /** Subscribes, takes offsets 1..3, unsubscribes, lets `publishedAway` more go by, and subscribes again. */
  async function resubscribeAfter(channel: string, publishedAway: number) {
    const followed = follow(client, channel)
    await followed.room.subscribe()
    await publishRange(server.sb, channel, 1, 3)
    await vi.waitFor(() => expect(followed.offsets).toEqual([1, 2, 3]))
    await followed.room.unsubscribe()
    await publishRange(server.sb, channel, 4, 3 + publishedAway)
    followed.offsets.length = 0
    await followed.room.subscribe()
    return followed
  }

  it('recovers every message when history covers the gap', async () => {
    const { offsets, answers } = await resubscribeAfter(name('gap:covered'), 4)
    await vi.waitFor(() => expect(offsets).toEqual([4, 5, 6, 7]))
    expect(answers.at(-1)).toEqual({ offset: 7, epoch: expect.any(String), recovered: true })
  })

  it('replays what history still holds after a longer gap, names the offsets it lacks, and goes on live', async () => {
    const channel = name('gap:long')
    const { offsets, answers } = await resubscribeAfter(channel, 9) // 4..12 published, history keeps 8..12
    await vi.waitFor(() => expect(offsets).toEqual([8, 9, 10, 11, 12]))
    expect(answers.at(-1)).toEqual({ offset: 12, epoch: expect.any(String), recovered: false, missing: { from: 4, to: 7 } })
    await server.sb.publish(channel, 13)
    await vi.waitFor(() => expect(offsets.at(-1)).toBe(13))
    expect(offsets).toEqual(range(8, 13))
  })

  it('names every missed offset when the channel keeps no history', async () => {
    const { offsets, answers } = await resubscribeAfter(name('bare:gap'), 2)
    await vi.waitFor(() => expect(answers).toHaveLength(2))
    expect(answers[1]).toEqual({ offset: 5, epoch: expect.any(String), recovered: false, missing: { from: 4, to: 5 } })
    expect(offsets).toEqual([])
  })
})

describe.each(TRANSPORT_CASES)('a server restart over %s%s', (transport, label, options) => {
  const servers: GapServer[] = []
  let client: SwitchboardClient | undefined
  afterEach(async () => {
    client?.close()
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  it.each([
    ['replays the whole new epoch and marks only the old one unknown', 2, { from: null, to: 0 }, [1, 2]],
    ['replays what the new epoch kept and names the offsets it lacks', 7, { from: null, to: 2 }, [3, 4, 5, 6, 7]],
  ])('%s', async (_name, published, missing, replayed) => {
    const channel = `gap:restart-${transport}${label.replaceAll(' ', '-')}-${published}`
    const first = await startGapServer()
    servers.push(first)
    client = connectClient(first.url, transport, options)
    const { room, offsets, answers } = follow(client, channel)
    await room.subscribe()
    await publishRange(first.sb, channel, 1, 3)
    await vi.waitFor(() => expect(offsets).toEqual([1, 2, 3]))
    const oldEpoch = answers[0]!.epoch

    // The new process has a new memory adapter: history and offsets start again.
    await first.close()
    servers.splice(0)
    servers.push(await startGapServer(first.port, (sb) => publishRange(sb, channel, 1, published)))
    await vi.waitFor(() => expect(answers).toHaveLength(2), { timeout: 10_000 })

    expect(answers[1]).toEqual({ offset: published, epoch: expect.any(String), recovered: false, missing })
    expect(answers[1]!.epoch).not.toBe(oldEpoch)
    await vi.waitFor(() => expect(offsets).toEqual([1, 2, 3, ...replayed]))
    expect(room.offset).toBe(published)
  })
})
