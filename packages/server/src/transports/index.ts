import type { TransportName } from '@switchboard/protocol'
import { LONG_POLLING_ROUTES } from './long-polling.js'
import { SSE_ROUTES } from './sse.js'
import type { ServerTransport, TransportRoutes, TransportTraits } from './transport.js'
import { WEBSOCKET_ROUTES } from './websocket.js'

/** Every transport, by name: its routes and what it declares of itself. A new transport is one line here. */
export const TRANSPORTS: Record<TransportName, TransportRoutes> = {
  websocket: WEBSOCKET_ROUTES,
  sse: SSE_ROUTES,
  'long-polling': LONG_POLLING_ROUTES,
}

/** What a line's module declares of it (never on the per-message path). */
export const traitsOf = (transport: ServerTransport): TransportTraits => TRANSPORTS[transport.name].traits
