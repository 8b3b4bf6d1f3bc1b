// The server's entry in Node (package.json's "node" condition, and `@switchboard/server/node`):
// the API of index.ts, with a createSwitchboard that serves WebSocket through `ws`, plus listen()
// and handleUpgrades().
export * from './index.js'
export { createSwitchboard } from './node-runtime.js'
export { listen, type ListenOptions, type Listening } from './listen.js'
export { handleUpgrades, type UpgradeOptions, type WebSocketUpgrades } from './websocket-upgrades.js'
