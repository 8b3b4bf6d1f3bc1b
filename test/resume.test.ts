import type { SwitchboardClient } from '@switchboard/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'

/**
 * Resume: a client talks to the server through a TCP proxy that resets every connection
 * (WebSocket, event stream, polls and POSTs alike) again and again while messages flow both
 * ways. The client reattaches to the same session each time; every message must arrive
 * exactly once and in order, in both directions.
 */
const COUNT = 1_000
type Numbered = { from: 'client' | 'server'; n: number }

let server: TestServer
let proxy: TcpProxy
beforeAll(async () => {
  server = await startServer({ heartbeatMs: 2_000 })
  proxy = await startTcpProxy({ targetPort: server.port })
})
afterAll(async () => {
  await proxy.close()
  await server.close()
})

function checkSequence(got: number[], label: string) {
  const duplicates = got.length - new Set(got).size
  const outOfOrder = got.filter((n, i) => i > 0 && n <= got[i - 1]!).length
  const missing = COUNT - new Set(got).size
  expect({ label, missing, duplicates, outOfOrder }).toEqual({ label, missing: 0, duplicates: 0, outOfOrder: 0 })
  expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => i))
}

describe.each(['websocket', 'sse', 'long-polling'] as const)('resume over %s', (transport) => {
  it('delivers every message exactly once, in order, both ways, across repeated connection resets', async () => {
    const channel = `room:resume-${transport}`
    const client = connectClient(`${proxy.url}/rt`, transport)
    const observer = connectClient(server.url, 'websocket')
    const clients: SwitchboardClient[] = [client, observer]
    try {
      const fromServer: number[] = []
      const echoed: number[] = []
      const observed: number[] = []
      client.channel<Numbered>(channel).on('message', ({ data }) => (data.from === 'server' ? fromServer : echoed).push(data.n))
      observer.channel<Numbered>(channel).on('message', ({ data }) => data.from === 'client' && observed.push(data.n))
      let resumes = 0
      client.on('session', (e) => {
        expect(e.resumed).toBe(true)
        resumes++
      })
      await Promise.all([client.channel(channel).subscribe(), observer.channel(channel).subscribe()])

      let cuts = 0
      let cutting = true
      const cutter = (async () => {
        while (cutting) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 150))
          if (cutting && proxy.cutAll() > 0) cuts++
        }
      })()

      // client -> server: pipelined publishes, at most 200 awaiting their ack at a time.
      const up = (async () => {
        const inFlight: Promise<unknown>[] = []
        for (let n = 0; n < COUNT; n++) {
          inFlight.push(client.channel<Numbered>(channel).publish({ from: 'client', n }))
          if (inFlight.length === 200) await Promise.all(inFlight.splice(0))
          if (n % 20 === 0) await new Promise((r) => setTimeout(r, 50))
        }
        await Promise.all(inFlight)
      })()
      // server -> client: bursts from the server side.
      const down = (async () => {
        for (let n = 0; n < COUNT; n++) {
          await server.sb.publish(channel, { from: 'server', n } satisfies Numbered)
          if (n % 20 === 0) await new Promise((r) => setTimeout(r, 50))
        }
      })()

      await Promise.all([up, down])
      await expect.poll(() => fromServer.length + echoed.length + observed.length, { timeout: 15_000 }).toBe(COUNT * 3)
      cutting = false
      await cutter
      checkSequence(fromServer, 'server -> client')
      checkSequence(echoed, 'client -> server -> client')
      checkSequence(observed, 'client -> server (seen by another client)')
      expect(cuts).toBeGreaterThanOrEqual(5)
      console.log(`resume over ${transport}: ${COUNT} messages each way, ${cuts} cuts, ${resumes} resumes, 0 lost/dup/reordered`)
    } finally {
      for (const c of clients) c.close()
    }
  }, 60_000)
})
