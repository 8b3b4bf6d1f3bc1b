// SockJS 0.3 server with its defaults, the same routing as the raw ws floor: the first character
// of the message says echo ('e') or broadcast to every connection ('b'); the string is forwarded.
// It offers no permessage-deflate (faye-websocket without extensions).
import http from 'node:http'
import sockjs from 'sockjs'
import { ready, serverOptions } from './harness.mjs'

const o = serverOptions()
const server = http.createServer()
const sj = sockjs.createServer({
  prefix: '/sockjs',
  log: () => {},
  ...(o.heartbeatMs ? { heartbeat_delay: o.heartbeatMs } : {}),
})
const connections = new Set()

sj.on('connection', (conn) => {
  connections.add(conn)
  conn.on('data', (m) => {
    if (m.charCodeAt(0) === 0x65) return conn.write(m)
    for (const c of connections) c.write(m)
  })
  conn.on('close', () => connections.delete(conn))
})
sj.installHandlers(server)

server.listen(0, '127.0.0.1', () => ready(server, { sessions: () => connections.size }))
