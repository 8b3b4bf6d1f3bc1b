import {
  ACK_DELAY_MS,
  codeFromClose,
  encodeBatch,
  encodeFrame,
  FrameType,
  HIGH_WATER_BYTES,
  NEGOTIATE_PARAM,
  PROBE_ANSWER,
  PROTOCOL_VERSION,
  TRANSPORTS_PARAM,
  WEBSOCKET_PATH,
} from '@switchboard/protocol'
import { endpointUrl } from '../endpoints.js'
import { endpoint, type ClientTransport, type TransportFactory, type TransportTraits, type WebSocketLike } from './transport.js'

const OPEN = 1
/** Over HIGH_WATER_BYTES buffered, `send` asks the session to wait; drain is polled this often (browsers have no event). */
const DRAIN_POLL_MS = 10

/** An ACK frame rides every batch that leaves (or goes alone after ACK_DELAY_MS); batches are socket messages. */
export const WEBSOCKET_TRAITS: TransportTraits = {
  ack: { frames: 'every-batch', inHeader: false, delayMs: ACK_DELAY_MS },
  messageSized: true,
  http: false,
  polled: false,
}

/**
 * WebSocket: one socket both ways; the token goes in the first frame (HELLO), never the URL. A
 * socket that negotiates says so in its URL and sends nothing: the server's WELCOME comes first.
 */
export const createWebSocketTransport: TransportFactory = (ctx, events) => {
  let ws: { readyState: number; bufferedAmount: number; send(d: string): void; close(c?: number, r?: string): void } | null = null
  let done = false
  let probing = ctx.probe
  let drainTimer: ReturnType<typeof setTimeout> | undefined
  const hello = (probe: boolean) =>
    encodeBatch([
      encodeFrame(probe ? [FrameType.HELLO, ctx.token, ctx.ack(), PROTOCOL_VERSION, 1] : [FrameType.HELLO, ctx.token, ctx.ack(), PROTOCOL_VERSION]),
    ])

  const finish = (reason: string, closeCode?: number) => {
    if (done) return
    done = true
    clearTimeout(drainTimer)
    const code = closeCode === undefined ? undefined : codeFromClose(closeCode)
    events.onClose(code ? { reason, code } : { reason })
  }

  const waitDrain = () => {
    drainTimer = setTimeout(() => {
      if (done || !ws) return
      if (ws.bufferedAmount > HIGH_WATER_BYTES / 2) waitDrain()
      else events.onDrain()
    }, DRAIN_POLL_MS)
  }

  const transport: ClientTransport = {
    name: 'websocket',
    traits: WEBSOCKET_TRAITS,
    open() {
      const Ctor = ctx.WebSocket
      if (!Ctor) {
        queueMicrotask(() => finish('WebSocket is not available here (pass the WebSocket option in Node 20)'))
        return
      }
      const negotiate = ctx.negotiate
      const url = negotiate
        ? endpointUrl(ctx.baseUrl, WEBSOCKET_PATH, { [NEGOTIATE_PARAM]: String(PROTOCOL_VERSION), [TRANSPORTS_PARAM]: negotiate.join(',') })
        : endpoint(ctx, WEBSOCKET_PATH)
      let socket: WebSocketLike
      try {
        socket = new Ctor(url)
      } catch (e) {
        queueMicrotask(() => finish(`WebSocket failed: ${(e as Error).message}`))
        return
      }
      ws = socket
      if (!negotiate) socket.onopen = () => socket.send(hello(probing))
      socket.onmessage = (event) => {
        if (done || typeof event.data !== 'string') return
        if (probing) {
          // Only the probe's PONG is expected; a proxy that mangles frames fails the probe by timeout.
          if (event.data === PROBE_ANSWER) events.onProbe()
          return
        }
        events.onBatch(event.data)
      }
      socket.onclose = (event) => finish(`WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`, event.code)
      socket.onerror = () => {
        // A close event always follows; it carries the code.
      }
    },
    send(batch) {
      if (done || !ws || ws.readyState !== OPEN) return false
      ws.send(batch)
      if (ws.bufferedAmount <= HIGH_WATER_BYTES) return true
      waitDrain()
      return false
    },
    pause() {
      // A socket attaches once, with its HELLO: nothing to hold back.
    },
    attach() {
      if (done || !probing || !ws || ws.readyState !== OPEN) return
      probing = false
      ws.send(hello(false))
    },
    close() {
      if (done) return
      done = true
      clearTimeout(drainTimer)
      ws?.close(1000)
    },
  }
  return transport
}
