// Switchboard client forced onto one transport: echo is `call('echo')`, broadcast is an acked
// `publish` on channel `bench` (join = subscribe). Default client options, no reconnect.
import { WebSocket } from 'ws'
import { switchboardModule } from '../snapshot.mjs'
import { newConn, withTimeout } from './conn.mjs'

const { connect } = await switchboardModule('client')

export function open(origin, options) {
  return openWith(connect, origin, options)
}

/** `open` with a given build's `connect` (the A/B tool opens several builds in one process). */
export async function openWith(connect, origin, { transport, timeoutMs }) {
  const conn = newConn()
  const client = connect(`${origin}/rt`, { WebSocket, transports: [transport], reconnect: false, attemptTimeoutMs: timeoutMs })
  client.on('state', ({ to, reason }) => {
    if (to !== 'closed') return
    conn.closed = true
    conn.onClose(reason)
  })
  await withTimeout(client.ready(), timeoutMs, `switchboard ${transport} open`)
  const channel = client.channel('bench')
  channel.on('message', (m) => conn.onBroadcast(m.data))
  const failed = (e) => conn.onError(e)
  conn.echo = (msg) => {
    client.call('echo', msg).then((reply) => conn.onEcho(reply), failed)
  }
  conn.broadcast = (msg) => {
    channel.publish(msg).catch(failed)
  }
  conn.join = () => channel.subscribe()
  conn.close = () => client.close()
  return conn
}
