import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connectClient, startServer, TRANSPORT_CASES, type TestServer } from './helpers/fixture.js'
import { type PostMode, startPostStallingProxy } from './helpers/post-stalling-proxy.js'

/**
 * A proxy that loses an answer and sends the same request again, passing on the second answer:
 * nginx does that to a long poll whose node fails mid-answer, and a browser may do it to a POST
 * on a reused connection that breaks. The client never learns the first answer was lost, so the
 * second must carry its frames again: a poll replays from its ack, and so does a POST whose
 * number (POST_NUMBER_PARAM) the server has answered before.
 */
const HTTP_CASES = TRANSPORT_CASES.filter(([transport]) => transport !== 'websocket')
const CASES = HTTP_CASES.flatMap(([transport, label, options]) => {
  const modes: PostMode[] = transport === 'long-polling' ? ['retry-post', 'retry-poll'] : ['retry-post']
  return modes.map((mode) => [transport, label, options, mode] as const)
})
let server: TestServer
const rows: string[] = []

beforeAll(async () => {
  server = await startServer({ pollTimeoutMs: 1_000 })
})
afterAll(async () => {
  await server?.close()
  if (rows.length) console.log(['answers lost and asked for again:', ...rows.sort()].join('\n'))
})

describe.concurrent.each(CASES)('%s%s, a proxy in %4$s mode', (transport, label, options, mode: PostMode) => {
  it('loses nothing: every message and every reply arrives once, in order', async () => {
    const proxy = await startPostStallingProxy({ targetPort: server.port })
    const client = connectClient(`${proxy.url}/rt`, transport, { upgrade: false, ...options })
    const name = `room:lost-answers-${transport}${label.replace(/\W/g, '')}-${mode}`
    const seen: number[] = []
    client.channel<{ n: number }>(name).on('message', (m) => seen.push(m.data.n))
    try {
      await client.channel(name).subscribe()
      proxy.setMode(mode)
      const count = 200
      for (let n = 0; n < count; n++) {
        await server.sb.publish(name, { n })
        // Paced: answers carry a few messages at a time, and calls whose replies POST answers carry.
        if (n % 10 === 9) expect(await client.call('echo', n, { timeoutMs: 5_000 })).toBe(n)
      }
      await vi.waitFor(() => expect(seen).toHaveLength(count), { timeout: 10_000 })
      expect(seen).toEqual(Array.from({ length: count }, (_, n) => n))
      expect(proxy.retried).toBeGreaterThan(0)
      expect(client.state).toBe('open')
      rows.push(
        `${(transport + label).padEnd(24)} ${mode.padEnd(11)} ${proxy.retried} answers lost, all ${count} messages and ${count / 10} replies once, in order`,
      )
    } finally {
      client.close()
      await proxy.close()
    }
  })
})
