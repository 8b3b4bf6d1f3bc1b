// The runtime-neutral entry: web standards only (fetch's Request and Response, streams, Web Crypto),
// for runtimes and bundles where the "node" export condition does not apply (Workers, say).
// Node resolves the package to node.ts.
export { createSwitchboard, type Switchboard, type SubscribeResult, type MissingMessages, type PublishOptions } from './switchboard.js'
export type { SwitchboardOptions } from './options.js'
export type { ChannelOptions, ChannelContext } from './channels.js'
export type { SlowConsumerPolicy } from './slow-consumer.js'
export type { RpcHandler, RpcContext } from './rpc.js'
export type {
  Adapter,
  AdapterEvents,
  ChannelPosition,
  HistoryPage,
  PresenceMember,
  PresenceStore,
  SessionDirectory,
  SessionLease,
  StoredMessage,
} from './adapters/adapter.js'
export { createMemoryAdapter, type MemoryAdapterOptions } from './adapters/memory.js'
export type { LogEvent, Logger } from './log.js'
export { SwitchboardError, type ErrorCode, type TransportName, type NegotiateResponse } from '@switchboard/protocol'
