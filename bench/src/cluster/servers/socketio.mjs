// One Socket.IO node of a cross-node run: defaults, with @socket.io/redis-adapter (its default
// `createAdapter`, Redis pub/sub) on the run's redis-server. `join` puts the socket in a room
// (acked); `pub` broadcasts to a room on every node, `io.to(room).emit(room, msg)`, as does a
// server-side publisher.
import http from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'
import { ready, serverOptions } from '../../servers/harness.mjs'
import { publishRequest } from '../messages.mjs'

const pub = new Redis(serverOptions().redisUrl)
const sub = pub.duplicate()
await Promise.all([pub, sub].map((client) => new Promise((resolve) => client.once('ready', resolve))))

const server = http.createServer()
const io = new Server(server, { serveClient: false, adapter: createAdapter(pub, sub) })
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room)
    ack()
  })
  socket.on('pub', (room, msg) => io.to(room).emit(room, msg))
})

const publish = publishRequest((room, msg) => io.to(room).emit(room, msg))
server.listen(0, '127.0.0.1', () => ready(server, { sessions: () => io.engine.clientsCount, requests: { publish } }))
