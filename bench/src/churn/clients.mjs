// The churned clients, one adapter per library, each with the library's default reconnect policy
// (unlike ../clients/, whose clients never reconnect). Each reports broadcasts `{ i, t }` and
// when its line is back: `onMessage(msg)`, `onBack()`.
import { io } from 'socket.io-client'
import { WebSocket } from 'ws'
import { withTimeout } from '../clients/conn.mjs'
import { connected } from '../clients/socketio.mjs'
import { switchboardModule } from '../snapshot.mjs'

/** Switchboard forced onto one transport, reconnect at its defaults; subscribed to `bench`. */
async function switchboard(url, { transport, timeoutMs }, on) {
  const { connect } = await switchboardModule('client')
  const client = connect(`${url}/rt`, { WebSocket, transports: [transport] })
  let opened = false
  client.on('state', ({ from, to }) => {
    if (opened && from === 'connecting' && to === 'open') on.onBack()
  })
  const channel = client.channel('bench')
  channel.on('message', (m) => on.onMessage(m.data))
  await withTimeout(channel.subscribe(), timeoutMs, `switchboard ${transport} subscribe`)
  opened = true
  return { close: () => client.close() }
}

/** Socket.IO forced onto one transport, reconnection at its defaults; its server recovers state. */
async function socketio(url, { transport, timeoutMs }, on) {
  const socket = io(url, { transports: [transport], forceNew: true })
  socket.on('b', (m) => on.onMessage(m))
  await connected(socket, timeoutMs, `socket.io ${transport} open`)
  socket.on('connect', () => on.onBack())
  return { close: () => socket.disconnect() }
}

export const CHURN_CLIENTS = { switchboard, socketio }
