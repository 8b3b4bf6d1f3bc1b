// sockjs-client in Node, forced onto one transport ('websocket', 'xhr-streaming', 'xhr-polling'),
// which it drives with faye-websocket and Node's http module. Same 'e'/'b' + JSON as raw ws.
import SockJS from 'sockjs-client'
import { newConn, withTimeout } from './conn.mjs'

export async function open(origin, { transport, timeoutMs }) {
  const conn = newConn()
  const sock = new SockJS(`${origin}/sockjs`, null, { transports: [transport], timeout: timeoutMs })
  sock.onmessage = (e) => {
    const text = /** @type {string} */ (e.data)
    const msg = JSON.parse(text.slice(1))
    if (text.charCodeAt(0) === 0x65) conn.onEcho(msg)
    else conn.onBroadcast(msg)
  }
  await withTimeout(
    new Promise((resolve, reject) => {
      sock.onopen = resolve
      sock.onclose = (e) => reject(new Error(`sockjs closed ${e.code} ${e.reason}`))
    }),
    timeoutMs,
    `sockjs ${transport} open`,
  )
  if (sock.transport !== transport) throw new Error(`sockjs opened ${sock.transport}, not ${transport}`)
  sock.onclose = (e) => {
    conn.closed = true
    conn.onClose(`closed ${e.code} ${e.reason}`)
  }
  conn.echo = (msg) => sock.send(`e${JSON.stringify(msg)}`)
  conn.broadcast = (msg) => sock.send(`b${JSON.stringify(msg)}`)
  conn.join = async () => {}
  conn.close = () => sock.close()
  return conn
}
