// Socket.IO 4 with its defaults (both transports offered), `e` echoes to the sender and `b`
// broadcasts to every connected socket (io.emit). The heartbeat is set only by the scale scenario.
import http from 'node:http'
import { Server } from 'socket.io'
import { ready, serverOptions } from './harness.mjs'

const o = serverOptions()
const server = http.createServer()
const io = new Server(server, {
  serveClient: false,
  perMessageDeflate: Boolean(o.deflate),
  ...(o.heartbeatMs ? { pingInterval: o.heartbeatMs } : {}),
  // The churn scenario: connection state recovery with its defaults (a 2 min window).
  ...(o.recovery ? { connectionStateRecovery: {} } : {}),
})

io.on('connection', (socket) => {
  socket.on('e', (m) => socket.emit('e', m))
  socket.on('b', (m) => io.emit('b', m))
})

server.listen(0, '127.0.0.1', () => ready(server, { sessions: () => io.engine.clientsCount }))
