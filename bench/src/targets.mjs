// Every target: which server script serves it, which client adapter drives it, over which
// transport, and which kind of line it is (targets are compared with their own kind).

/** @typedef {'websocket' | 'streaming' | 'polling'} Kind */
/**
 * @typedef {object} Target
 * @property {string} id
 * @property {string} label
 * @property {string} library   'switchboard' | 'ws' | 'socket.io' | 'sockjs'
 * @property {Kind} kind
 * @property {string} server    script in src/servers
 * @property {string} client    adapter in src/clients
 * @property {string} [transport] the library's own name for the transport
 * @property {boolean} deflate  the server can offer permessage-deflate
 */

/** @type {Target[]} */
export const TARGETS = [
  {
    id: 'sb-ws',
    label: 'Switchboard websocket',
    library: 'switchboard',
    kind: 'websocket',
    server: 'switchboard',
    client: 'switchboard',
    transport: 'websocket',
    deflate: true,
  },
  {
    id: 'sb-sse',
    label: 'Switchboard sse',
    library: 'switchboard',
    kind: 'streaming',
    server: 'switchboard',
    client: 'switchboard',
    transport: 'sse',
    deflate: false,
  },
  {
    id: 'sb-lp',
    label: 'Switchboard long-polling',
    library: 'switchboard',
    kind: 'polling',
    server: 'switchboard',
    client: 'switchboard',
    transport: 'long-polling',
    deflate: false,
  },
  { id: 'raw-ws', label: 'raw ws (floor)', library: 'ws', kind: 'websocket', server: 'raw-ws', client: 'raw-ws', deflate: true },
  {
    id: 'sio-ws',
    label: 'Socket.IO websocket',
    library: 'socket.io',
    kind: 'websocket',
    server: 'socketio',
    client: 'socketio',
    transport: 'websocket',
    deflate: true,
  },
  {
    id: 'sio-polling',
    label: 'Socket.IO polling',
    library: 'socket.io',
    kind: 'polling',
    server: 'socketio',
    client: 'socketio',
    transport: 'polling',
    deflate: false,
  },
  {
    id: 'sockjs-ws',
    label: 'SockJS websocket',
    library: 'sockjs',
    kind: 'websocket',
    server: 'sockjs',
    client: 'sockjs',
    transport: 'websocket',
    deflate: false,
  },
  {
    id: 'sockjs-xhr-streaming',
    label: 'SockJS xhr-streaming',
    library: 'sockjs',
    kind: 'streaming',
    server: 'sockjs',
    client: 'sockjs',
    transport: 'xhr-streaming',
    deflate: false,
  },
  {
    id: 'sockjs-xhr-polling',
    label: 'SockJS xhr-polling',
    library: 'sockjs',
    kind: 'polling',
    server: 'sockjs',
    client: 'sockjs',
    transport: 'xhr-polling',
    deflate: false,
  },
]

export const targetById = (id) => {
  const t = TARGETS.find((x) => x.id === id)
  if (!t) throw new Error(`unknown target ${id}; known: ${TARGETS.map((x) => x.id).join(', ')}`)
  return t
}

/**
 * The baselines a target is compared with, measured in the same run: the raw ws floor, and the
 * Socket.IO and SockJS targets of the same kind. Socket.IO has no streaming transport: its HTTP
 * fallback (polling) stands in for it against SSE.
 */
export function baselinesOf(target) {
  const sio = target.kind === 'websocket' ? 'sio-ws' : 'sio-polling'
  const sockjs = { websocket: 'sockjs-ws', streaming: 'sockjs-xhr-streaming', polling: 'sockjs-xhr-polling' }[target.kind]
  return { floor: 'raw-ws', sio, sockjs }
}
