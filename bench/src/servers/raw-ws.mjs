// The floor: a bare `ws` server. It does the least any server could for this protocol: it routes
// on the message's first character ('e' echo to sender, 'b' broadcast to all) and forwards the
// bytes unchanged, without parsing JSON. No sessions, acks, replay or heartbeats unless asked.
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { ready, serverOptions } from './harness.mjs'

const o = serverOptions()
const server = http.createServer((_req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: Boolean(o.deflate), maxPayload: o.maxPayload ?? 100 * 1024 * 1024 })
const E = 0x65 // 'e'

wss.on('connection', (ws) => {
  ws.isAlive = true
  ws.on('pong', () => (ws.isAlive = true))
  ws.on('message', (data) => {
    const buf = /** @type {Buffer} */ (data)
    if (buf[0] === E) return ws.send(buf, { binary: false })
    for (const client of wss.clients) client.send(buf, { binary: false })
  })
})

// The usual `ws` heartbeat (README "How to detect and close broken connections"), only when asked.
if (o.heartbeatMs) {
  setInterval(() => {
    for (const ws of wss.clients) {
      if (!ws.isAlive) {
        ws.terminate()
        continue
      }
      ws.isAlive = false
      ws.ping()
    }
  }, o.heartbeatMs)
}

server.listen(0, '127.0.0.1', () => ready(server, { sessions: () => wss.clients.size }))
