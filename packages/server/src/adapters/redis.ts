import type { Logger } from '../log.js'
import { createRandomId } from '../random.js'
import { IDEMPOTENCY_WINDOW_MS, type Adapter } from './adapter.js'
import { openConnections, type RedisSource } from './redis-connection.js'
import { ChannelFeeds } from './redis-feeds.js'
import { RedisForwarder } from './redis-forward.js'
import { RedisHealth, type AdapterHealth } from './redis-health.js'
import { RedisKeys } from './redis-keys.js'
import { RedisPresence } from './redis-presence.js'
import { PubSubLink } from './redis-pubsub.js'
import { RedisSessions } from './redis-sessions.js'
import { RedisStreams } from './redis-streams.js'

/** Options of createRedisAdapter. */
export interface RedisAdapterOptions {
  /** Start of every key and pub/sub channel name, so several apps can share one Redis. Default: `sb:`. */
  prefix?: string
  /** This node's id, as other nodes address it. Default: random (a restarted node is a new node). */
  nodeId?: string
  /** How long a publish's idempotency key is remembered, per channel. Default: 120000 (2 minutes). */
  idempotencyWindowMs?: number
  /** Messages older than this leave history, whatever the channel's historySize. Default: none. */
  historyMaxAgeMs?: number
  /** How long a command may go unanswered before it fails with ADAPTER_UNAVAILABLE. Default: 2000. */
  commandTimeoutMs?: number
  /** How long start() waits for Redis before the server starts anyway, degraded. Default: 5000. */
  connectTimeoutMs?: number
}

/** The Redis adapter: an Adapter that also says whether it reaches Redis. */
export interface RedisAdapter extends Adapter {
  /** Where the adapter stands with Redis; changes are also logged (kind `adapter`) through the server's logger. */
  health(): AdapterHealth
}

export type { AdapterHealth, AdapterHealthState } from './redis-health.js'
export type { RedisSource } from './redis-connection.js'

/**
 * An adapter over Redis (a server, or a Redis Cluster through sharded pub/sub), so several nodes
 * share channels, history, presence and the session directory. Give it a URL, or an ioredis
 * client (Redis or Cluster) it makes its own connections from.
 * @example
 * const sb = createSwitchboard({ adapter: createRedisAdapter({ url: 'redis://127.0.0.1:6379' }) })
 */
export function createRedisAdapter(source: RedisSource, options: RedisAdapterOptions = {}): RedisAdapter {
  const keys = new RedisKeys(options.prefix ?? 'sb:')
  const nodeId = options.nodeId ?? createRandomId(9)
  const commandTimeoutMs = positive(options.commandTimeoutMs, 2_000, 'commandTimeoutMs')
  const connectTimeoutMs = positive(options.connectTimeoutMs, 5_000, 'connectTimeoutMs')
  const streamSettings = {
    idempotencyWindowMs: positive(options.idempotencyWindowMs, IDEMPOTENCY_WINDOW_MS, 'idempotencyWindowMs'),
    historyMaxAgeMs: options.historyMaxAgeMs === undefined ? 0 : positive(options.historyMaxAgeMs, 0, 'historyMaxAgeMs'),
    salt: createRandomId(3),
  }

  const health = new RedisHealth()
  let logger: Logger | undefined
  const log = () => logger
  const connections = openConnections(source, commandTimeoutMs, health)
  const { commands, sharded } = connections
  const link = new PubSubLink(connections, health, log)
  const streams = new RedisStreams(commands, sharded, keys, streamSettings, health)
  const feeds = new ChannelFeeds(link, keys, (channel, since) => streams.history(channel, since), log)
  streams.onRead = (channel, offset, epoch) => feeds.observe(channel, offset, epoch)
  // After an outage, or a shard's pub/sub coming back, read what pub/sub dropped meanwhile.
  health.onHealthy = () => feeds.catchUp()
  link.onShardsRestored = () => feeds.catchUp()
  const forwarder = new RedisForwarder(nodeId, commands, sharded, keys, health)

  return {
    async start(events) {
      logger = events.logger
      health.logger = events.logger
      feeds.onMessage = events.onMessage
      await connections.connect(connectTimeoutMs)
      // With Redis down at start, the node's channel is subscribed with the others once pub/sub connects.
      await forwarder.listen(link, events.onForward).catch(() => {})
    },
    subscribe: (channel) => feeds.subscribe(channel),
    unsubscribe: (channel) => feeds.unsubscribe(channel),
    publish: (channel, dataJson, historySize, idempotencyKey) => streams.publish(channel, dataJson, historySize, idempotencyKey),
    position: (channel) => streams.position(channel),
    history: (channel, since) => streams.history(channel, since),
    recent: (channel, limit) => streams.recent(channel, limit),
    presence: new RedisPresence(commands, keys, health),
    sessions: new RedisSessions(commands, keys, health, forwarder),
    health: () => health.snapshot(),
    close() {
      health.close()
      feeds.close()
      forwarder.close()
      connections.disconnect()
    },
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}
