// Socket.IO client, one Manager per connection (forceNew: no multiplexing), one transport, no
// reconnection. Its Node default for polling is the XMLHttpRequest shim (xmlhttprequest-ssl).
import { io } from 'socket.io-client'
import { newConn, withTimeout } from './conn.mjs'

export async function open(origin, { transport, timeoutMs }) {
  const conn = newConn()
  const socket = io(origin, { transports: [transport], forceNew: true, reconnection: false, timeout: timeoutMs })
  socket.on('e', (m) => conn.onEcho(m))
  socket.on('b', (m) => conn.onBroadcast(m))
  socket.on('connect_error', (e) => conn.onError(e))
  socket.on('disconnect', (reason) => {
    conn.closed = true
    conn.onClose(reason)
  })
  await connected(socket, timeoutMs, `socket.io ${transport} open`)
  conn.echo = (msg) => socket.emit('e', msg)
  conn.broadcast = (msg) => socket.emit('b', msg)
  conn.join = async () => {}
  conn.close = () => socket.disconnect()
  return conn
}

/** Resolves on the socket's first `connect`, rejects on its first `connect_error` or after `timeoutMs`. */
export function connected(socket, timeoutMs, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    }),
    timeoutMs,
    what,
  )
}
