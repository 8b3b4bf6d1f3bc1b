import { describe, expect, it } from 'vitest'
import type { HttpClient } from '../http/http.js'
import { createLongPollingTransport } from './long-polling.js'
import type { TransportContext } from './transport.js'

describe('long polling', () => {
  it('numbers its polls on the line, each sent once the one before was answered', async () => {
    const asked: { url: string; ack: string }[] = []
    const batches: string[] = []
    let ack = 0
    let release!: () => void
    const fourth = new Promise<void>((resolve) => (release = resolve))
    const http: HttpClient = async (url, { headers }) => {
      asked.push({ url, ack: headers['x-switchboard-ack']! })
      if (asked.length === 4) {
        release()
        await new Promise(() => {}) // held, as the server holds a poll with nothing to send
      }
      const batch = `[[21,${++ack},${ack},null,${ack}]]`
      return { status: 200, text: async () => batch, read: async () => {} }
    }
    const ctx: TransportContext = {
      baseUrl: 'http://127.0.0.1:1/rt',
      sessionId: 's1',
      token: 't',
      ack: () => batches.length,
      http,
      WebSocket: undefined,
      pollTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      probe: false,
    }
    const events = { onBatch: (text: string) => batches.push(text), onDrain() {}, onProbe() {}, onClose() {} }
    const transport = createLongPollingTransport(ctx, events)
    transport.open()
    await fourth
    transport.close()
    const query = asked.map(({ url }) => new URL(url).searchParams)
    const line = query[0]!.get('l')
    expect(Number(line)).toBeGreaterThan(0)
    expect(query.map((q) => [q.get('attach'), q.get('p'), q.get('l')])).toEqual([
      ['1', null, line],
      [null, '1', line],
      [null, '2', line],
      [null, '3', line],
    ])
    // Each poll left after the answer before it was taken: its ack counts it.
    expect(asked.map((a) => a.ack)).toEqual(['0', '1', '2', '3'])
  })
})
