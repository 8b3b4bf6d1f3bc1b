// Raw `ws` client: 'e' or 'b' + JSON, parsed on receipt (every target's client parses JSON).
import { WebSocket } from 'ws'
import { newConn, withTimeout } from './conn.mjs'

export async function open(origin, { timeoutMs }) {
  const conn = newConn()
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/ws`)
  ws.on('message', (data) => {
    const text = data.toString()
    const msg = JSON.parse(text.slice(1))
    if (text.charCodeAt(0) === 0x65) conn.onEcho(msg)
    else conn.onBroadcast(msg)
  })
  ws.on('close', (code) => {
    conn.closed = true
    conn.onClose(`closed ${code}`)
  })
  ws.on('error', (e) => conn.onError(e))
  await withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    }),
    timeoutMs,
    'ws open',
  )
  conn.echo = (msg) => ws.send(`e${JSON.stringify(msg)}`)
  conn.broadcast = (msg) => ws.send(`b${JSON.stringify(msg)}`)
  conn.join = async () => {}
  conn.close = () => ws.terminate()
  return conn
}
