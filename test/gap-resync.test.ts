import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from '@switchboard/client'
import { ACK_HEADER, FrameType, PROTOCOL_VERSION, type NegotiateResponse } from '@switchboard/protocol'
import { afterEach, describe, expect, it, vi } from 'vitest'

/**
 * A gap that does not fill: frames 2..600 arrive, frame 1 never does. The real server cannot be
 * made to lose a frame on a live line, so a small server speaking the long-polling wire plays it.
 * The client holds 512 frames ahead of the gap, then must drop the line and reattach with its ack
 * (0), so that the server resends everything after it; every frame then arrives once, in order,
 * which the ack of its next poll (600) proves.
 */
const FRAMES = 600
const message = (seq: number) => [FrameType.MESSAGE, seq, 'room', { n: seq }, seq]
const batch = (frames: unknown[]) => JSON.stringify(frames)

let server: http.Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
})

describe('a gap that never fills', () => {
  it('makes the client reattach after 512 held frames and get everything again, once, in order', async () => {
    const attaches: string[] = []
    const pollAcks: string[] = []
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x')
      const ack = String(req.headers[ACK_HEADER])
      if (url.pathname === '/rt/negotiate') {
        const info: NegotiateResponse = {
          version: PROTOCOL_VERSION,
          sessionId: 's1',
          resumeToken: 't1',
          transports: ['long-polling'],
          heartbeatMs: 25_000,
          recoveryMs: 30_000,
          pollTimeoutMs: 25_000,
          maxMessageBytes: 65_536,
          maxBatchBytes: 1_048_576,
          maxBatchFrames: 1_000,
        }
        return req.resume().on('end', () => res.end(JSON.stringify(info)))
      }
      if (url.pathname === '/rt/poll' && url.searchParams.has('attach')) {
        attaches.push(ack)
        // The first attach gets its WELCOME alone; the reattach gets everything after its ack.
        const resend = attaches.length > 1 ? Array.from({ length: FRAMES - Number(ack) }, (_, i) => message(Number(ack) + 1 + i)) : []
        return res.end(batch([[FrameType.WELCOME, 0], ...resend]))
      }
      if (url.pathname === '/rt/poll') {
        pollAcks.push(ack)
        // The first poll after the first attach: frames 2..600, frame 1 lost. Later polls are held.
        if (attaches.length === 1 && pollAcks.length === 1) return res.end(batch(Array.from({ length: FRAMES - 1 }, (_, i) => message(i + 2))))
        return
      }
      res.statusCode = 404
      res.end('{}')
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rt`, {
      transports: ['long-polling'],
      reconnect: { baseMs: 10, maxMs: 50 },
      upgrade: false,
    })
    const transports: (string | null)[] = []
    client.on('transport', (e) => transports.push(e.to))
    try {
      await vi.waitFor(() => expect(pollAcks).toContain(String(FRAMES)), { timeout: 10_000, interval: 20 })
      expect(attaches).toEqual(['0', '0'])
      expect(transports).toEqual(['long-polling', null, 'long-polling'])
      expect(client.state).toBe('open')
      // No poll acked part of it: frame 1 never came on the first line, then everything did.
      expect(pollAcks[0]).toBe('0')
      expect(pollAcks.filter((a) => a !== '0' && a !== String(FRAMES))).toEqual([])
    } finally {
      client.close()
    }
  })
})
