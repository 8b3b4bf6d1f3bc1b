import type { TransportName } from '@switchboard/protocol'
import { createLongPollingTransport } from './long-polling.js'
import { createSseTransport } from './sse.js'
import type { TransportFactory } from './transport.js'
import { createWebSocketTransport } from './websocket.js'

export const TRANSPORT_FACTORIES: Record<TransportName, TransportFactory> = {
  websocket: createWebSocketTransport,
  sse: createSseTransport,
  'long-polling': createLongPollingTransport,
}
