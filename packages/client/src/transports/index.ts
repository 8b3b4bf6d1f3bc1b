import type { TransportName } from '@switchboard/protocol'
import { createLongPollingTransport, LONG_POLLING_TRAITS } from './long-polling.js'
import { createSseTransport, SSE_TRAITS } from './sse.js'
import type { TransportFactory, TransportTraits } from './transport.js'
import { createWebSocketTransport, WEBSOCKET_TRAITS } from './websocket.js'

/** Every transport, by name: its factory and what it declares of itself. A new transport is one line here. */
export const TRANSPORT_MODULES: Record<TransportName, { create: TransportFactory; traits: TransportTraits }> = {
  websocket: { create: createWebSocketTransport, traits: WEBSOCKET_TRAITS },
  sse: { create: createSseTransport, traits: SSE_TRAITS },
  'long-polling': { create: createLongPollingTransport, traits: LONG_POLLING_TRAITS },
}
