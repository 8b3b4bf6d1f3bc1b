import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createWebSocketTransport } from './websocket.js'
import { isEmitterWebSocket, type TransportCloseInfo, type TransportContext, type WebSocketLike } from './transport.js'

/**
 * The WebSocket transport listens to `ws`'s sockets with `on` and to any other WebSocket with its
 * `on*` properties: both must hand the session the same batches and the same close. A real `ws`
 * server on loopback sends a text batch, a binary message (not Switchboard's: ignored) and a close.
 */
let server: WebSocketServer
let url: string

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => server.once('listening', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rt`
  server.on('connection', (socket) => {
    socket.send(Buffer.from([1, 2, 3]), { binary: true })
    socket.send('[[1,0]]')
    socket.close(4007, 'not yours')
  })
})

afterAll(() => new Promise((resolve) => server.close(resolve)))

/** `ws`'s socket behind only the DOM's surface (no `on`, no `terminate`), as a browser's is. */
class DomStyleWebSocket implements WebSocketLike {
  readonly #ws: WebSocket
  constructor(address: string) {
    this.#ws = new WebSocket(address)
  }
  get readyState() {
    return this.#ws.readyState
  }
  get bufferedAmount() {
    return this.#ws.bufferedAmount
  }
  set onopen(f: WebSocketLike['onopen']) {
    this.#ws.onopen = f
  }
  set onmessage(f: WebSocketLike['onmessage']) {
    this.#ws.onmessage = f
  }
  set onclose(f: WebSocketLike['onclose']) {
    this.#ws.onclose = f
  }
  set onerror(f: WebSocketLike['onerror']) {
    this.#ws.onerror = f
  }
  send(data: string) {
    this.#ws.send(data)
  }
  close(code?: number) {
    this.#ws.close(code)
  }
}

function lineOver(Ctor: TransportContext['WebSocket']) {
  const batches: string[] = []
  const ctx: TransportContext = {
    baseUrl: url,
    sessionId: '',
    token: '',
    ack: { received: 0 },
    http: undefined as never,
    WebSocket: Ctor,
    pollTimeoutMs: 0,
    requestTimeoutMs: 1000,
    probe: false,
    negotiate: ['websocket'],
  }
  const closed = new Promise<TransportCloseInfo>((resolve) => {
    createWebSocketTransport(ctx, { onBatch: (text) => batches.push(text), onDrain() {}, onProbe() {}, onClose: resolve }).open()
  })
  return { batches, closed }
}

describe('WebSocket transport', () => {
  it('knows ws by its on and terminate, and a DOM-style socket by their absence', () => {
    const ws = new WebSocket(url.replace('http', 'ws'))
    ws.on('error', () => {})
    expect(isEmitterWebSocket(ws as unknown as WebSocketLike)).toBe(true)
    ws.terminate()
    expect(isEmitterWebSocket({ on() {} } as unknown as WebSocketLike)).toBe(false)
  })

  for (const [kind, Ctor] of [
    ['ws, listened to with on', WebSocket],
    ['a DOM-style socket, listened to with on* properties', DomStyleWebSocket],
  ] as const) {
    it(`${kind}: text batches as strings, binary ignored, the close's code and reason`, async () => {
      const { batches, closed } = lineOver(Ctor as unknown as TransportContext['WebSocket'])
      expect(await closed).toEqual({ reason: 'WebSocket closed (4007 not yours)', code: 'INVALID_TOKEN' })
      expect(batches).toEqual(['[[1,0]]'])
    })
  }
})
