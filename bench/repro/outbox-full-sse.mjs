// Repro: over SSE, replies come down the event stream before the POST answer that carries the
// server's ack, so frames already answered still count against the client's outbox
// (maxOutboxFrames, default 1,000). Keeping 1,000 calls in flight then fails with OUTBOX_FULL.
// Expected: 0 rejected. Usage: node bench/repro/outbox-full-sse.mjs [sse|long-polling|websocket]
import { connect } from '@switchboard/client'
import { WebSocket } from 'ws'
import { startServer } from './server.mjs'

const transport = process.argv[2] ?? 'sse'
const server = await startServer()
const client = connect(server.url, { WebSocket, transports: [transport], reconnect: false })
await client.ready()
const total = 5200
const window = 1000
const rejected = {}
let sent = 0
let settled = 0
await new Promise((resolve) => {
  const timer = setTimeout(resolve, 10_000)
  const done = () => (++settled === total ? (clearTimeout(timer), resolve()) : fill())
  const fill = () => {
    while (sent < total && sent - settled < window) {
      client.call('echo', { i: sent++, d: 'x'.repeat(40) }).then(done, (e) => {
        rejected[e.code] = (rejected[e.code] ?? 0) + 1
        done()
      })
    }
  }
  fill()
})
console.log(`${transport}: ${total} calls, ${window} in flight: rejected ${JSON.stringify(rejected)}`)
client.close()
server.stop()
process.exit(0)
