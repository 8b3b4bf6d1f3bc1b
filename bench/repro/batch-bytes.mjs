// Repro: the client batches queued frames by count (maxBatchFrames) but not by bytes, so many
// concurrent calls of a few KB make one batch larger than the negotiated maxBatchBytes (1 MiB)
// and the server ends the session (WebSocket close 1009, SSE/long-polling BATCH_TOO_LARGE).
// Expected: every call answered. Usage: node bench/repro/batch-bytes.mjs [websocket|sse|long-polling]
import { connect } from '@switchboard/client'
import { WebSocket } from 'ws'
import { startServer } from './server.mjs'

const transport = process.argv[2] ?? 'websocket'
const server = await startServer()
const client = connect(server.url, { WebSocket, transports: [transport], reconnect: false })
client.on('error', (e) => console.log(`${transport}: client error ${e.code}: ${e.message}`))
await client.ready()
// 300 calls of ~8 KB at once: 2.4 MB, within the 4 MiB outbox, over the 1 MiB batch limit.
const d = 'x'.repeat(8000)
const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => client.call('echo', { i, d })))
const outcome = {}
for (const r of results) {
  const key = r.status === 'fulfilled' ? 'ok' : r.reason.code
  outcome[key] = (outcome[key] ?? 0) + 1
}
console.log(`${transport}: 300 concurrent 8 KB calls: ${JSON.stringify(outcome)}`)
client.close()
server.stop()
process.exit(0)
