// A client of one node, the same shape for both libraries, over WebSocket with no reconnect:
//
// conn.subscribe(channel)      resolves once the node delivers `channel` to this client
// conn.publish(channel, msg)   sends `msg` to every subscriber of `channel`, on every node
// conn.onMessage(channel, msg), conn.onClose(reason), conn.onError(e)   set by the scenario
//
// Switchboard: `channel(name).subscribe()` and an acked `publish()`, as an app uses them.
// Socket.IO: an acked `join` into the room, then `emit('pub', room, msg)`, which the node
// answers with `io.to(room).emit(room, msg)` (the room's name is the event's).
import { WebSocket } from 'ws'
import { io } from 'socket.io-client'
import { newConn, withTimeout } from '../clients/conn.mjs'
import { switchboardModule } from '../snapshot.mjs'

const conn = () => Object.assign(newConn(), { onMessage: (_channel, _msg) => {} })

async function openSwitchboard(origin, timeoutMs) {
  const { connect } = await switchboardModule('client')
  const c = conn()
  const client = connect(`${origin}/rt`, { WebSocket, transports: ['websocket'], reconnect: false, attemptTimeoutMs: timeoutMs })
  client.on('state', ({ to, reason }) => to === 'closed' && ((c.closed = true), c.onClose(reason)))
  await withTimeout(client.ready(), timeoutMs, 'switchboard open')
  const failed = (e) => c.onError(e)
  c.subscribe = (name) => {
    const channel = client.channel(name)
    channel.on('message', (m) => c.onMessage(name, m.data))
    return channel.subscribe()
  }
  c.publish = (name, msg) => void client.channel(name).publish(msg).catch(failed)
  c.close = () => client.close()
  return c
}

async function openSocketIo(origin, timeoutMs) {
  const c = conn()
  const socket = io(origin, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: timeoutMs })
  socket.on('connect_error', (e) => c.onError(e))
  socket.on('disconnect', (reason) => ((c.closed = true), c.onClose(reason)))
  await withTimeout(
    new Promise((resolve, reject) => (socket.once('connect', resolve), socket.once('connect_error', reject))),
    timeoutMs,
    'socket.io open',
  )
  c.subscribe = async (room) => {
    socket.on(room, (msg) => c.onMessage(room, msg))
    await withTimeout(socket.emitWithAck('join', room), timeoutMs, `socket.io join ${room}`)
  }
  c.publish = (room, msg) => void socket.emit('pub', room, msg)
  c.close = () => socket.disconnect()
  return c
}

/** Opens a connection to the node at `origin` for `library` ('switchboard' | 'socket.io'). */
export const openConn = (library, origin, timeoutMs = 15_000) =>
  library === 'switchboard' ? openSwitchboard(origin, timeoutMs) : openSocketIo(origin, timeoutMs)
