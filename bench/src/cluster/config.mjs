// The two libraries compared across nodes and the two cross-node scenarios, full and quick.
// Both libraries run over WebSocket with their defaults, on the same redis-server.

/** @typedef {{ id: string, label: string, library: 'switchboard' | 'socket.io', server: string }} ClusterTarget */

/** @type {ClusterTarget[]} */
export const CLUSTER_TARGETS = [
  { id: 'sb-ws', label: 'Switchboard websocket, Redis adapter', library: 'switchboard', server: 'switchboard' },
  { id: 'sio-ws', label: 'Socket.IO websocket, @socket.io/redis-adapter', library: 'socket.io', server: 'socketio' },
]

/** Nodes per run, each a process of its own. */
export const NODES = 3

/**
 * @typedef {object} ClusterScenario
 * @property {string} id
 * @property {string} title
 * @property {'fanout' | 'roundTrips'} kind  the function in driver.mjs that runs it
 * @property {Record<string, number | string>} params
 * @property {number} deadlineMs
 */

/** @returns {ClusterScenario[]} */
export function clusterScenarios(quick) {
  const q = (full, small) => (quick ? small : full)
  const fanout = (id, publisher, who) => ({
    id,
    title: `Cross-node fan-out: ${q(300, 30)} clients over ${NODES} nodes, ${who}`,
    kind: 'fanout',
    params: { size: 64, clients: q(300, 30), broadcasts: q(200, 20), warmupMs: q(2_000, 0), publisher },
    deadlineMs: q(90_000, 20_000),
  })
  return [
    fanout('xnode-fanout', 'client', `one of them, on node 1, publishes`),
    fanout('xnode-fanout-server', 'server', `node 1's server-side publish`),
    {
      id: 'xnode-rtt',
      title: 'Cross-node round trips, one at a time: node 1 asks, node 2 answers',
      kind: 'roundTrips',
      params: { size: 64, count: q(5_000, 100), warmup: q(2_000, 20), warmupMs: q(1_000, 0), cold: q(500, 10), maxMs: q(15_000, 3_000) },
      deadlineMs: q(90_000, 20_000),
    },
  ]
}
