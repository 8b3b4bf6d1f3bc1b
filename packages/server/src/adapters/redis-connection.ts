import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { Redis as RedisClient } from 'ioredis'
import type { RedisHealth, RedisLink } from './redis-health.js'

/** A client for one Redis server or for a Redis Cluster, from ioredis. */
export type AnyRedis = Redis | Cluster

/** Where the adapter finds Redis: a URL, or an ioredis client it makes its own connections from. */
export type RedisSource = { url: string } | { client: AnyRedis }

/** The adapter's connections: commands on one, pub/sub on the other (the same Cluster on a cluster). */
export interface RedisConnections {
  commands: AnyRedis
  subscriber: AnyRedis
  /** A Redis Cluster: SSUBSCRIBE/SPUBLISH (sharded pub/sub), keys grouped by hash tag. */
  sharded: boolean
  /** Connects, and resolves once both connections are ready or `timeoutMs` has passed. */
  connect(timeoutMs: number): Promise<void>
  disconnect(): void
}

/** Longest wait between two reconnection attempts. */
const RECONNECT_MAX_MS = 1_000

/** Reconnects at once, then backs off to RECONNECT_MAX_MS, with jitter so nodes do not knock together. */
const reconnectDelay = (attempt: number) => Math.min(RECONNECT_MAX_MS, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2)

/**
 * Opens the adapter's own connections. A publish must fail fast rather than wait for Redis: they
 * give up on an unanswered command after `commandTimeoutMs`, a lone server's connections queue
 * nothing while disconnected, and `health.refuse()` turns a command away while a Cluster
 * reconnects. Nor do they resend a command whose answer was lost (that would publish twice). A
 * client given as `source` is a template: it is duplicated with these settings, and left as it is.
 */
export function openConnections(source: RedisSource, commandTimeoutMs: number, health: RedisHealth): RedisConnections {
  const settings: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    retryStrategy: reconnectDelay,
  }
  let commands: AnyRedis
  let subscriber: AnyRedis
  if ('url' in source) {
    commands = new RedisClient(source.url, settings)
    subscriber = commands.duplicate({ autoResubscribe: false })
  } else if (source.client.isCluster) {
    const template = source.client as Cluster
    const clusterSettings: ClusterOptions = {
      lazyConnect: true,
      // One subscriber connection per shard, so each message comes from the shard that holds its channel.
      shardedSubscribers: true,
      clusterRetryStrategy: reconnectDelay,
      // The offline queues stay on: a Cluster opens each shard's connection on its first command, which
      // would bounce without one (to a random shard, then MOVED). health.refuse() fails fast instead.
      redisOptions: { ...template.options.redisOptions, commandTimeout: commandTimeoutMs, autoResendUnfulfilledCommands: false },
    }
    commands = template.duplicate(undefined, clusterSettings)
    subscriber = commands
  } else {
    commands = (source.client as Redis).duplicate(settings)
    subscriber = commands.duplicate({ autoResubscribe: false })
  }
  const sharded = commands.isCluster
  health.canSend = () => commands.status === 'ready'
  // A Cluster carries both links. A lone subscriber connection is up only once it has subscribed
  // again (PubSubLink says so), not when it reconnects.
  const links: readonly RedisLink[] = sharded ? ['commands', 'pubsub'] : ['commands']
  reportLinks(commands, links, links, health)
  if (!sharded) reportLinks(subscriber, [], ['pubsub'], health)
  return {
    commands,
    subscriber,
    sharded,
    async connect(timeoutMs) {
      const ready = Promise.all([commands, subscriber].map((c) => (c.status === 'wait' ? c.connect() : undefined)))
      let timer: ReturnType<typeof setTimeout> | undefined
      // A Redis that is down at start is not fatal: the connections keep trying, and health says so.
      await Promise.race([ready.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
      clearTimeout(timer)
    },
    disconnect() {
      commands.disconnect()
      if (subscriber !== commands) subscriber.disconnect()
    },
  }
}

/** Reports a connection's ups and downs to `health`: `up` links once it is ready, `down` links when it closes. */
function reportLinks(client: AnyRedis, up: readonly RedisLink[], down: readonly RedisLink[], health: RedisHealth): void {
  let lastError = 'connection closed'
  // Without an 'error' listener ioredis prints to the console; the reason goes to health instead.
  client.on('error', (e: Error) => {
    lastError = e.message
  })
  client.on('ready', () => {
    lastError = 'connection closed'
    for (const link of up) health.linkUp(link)
  })
  for (const event of ['close', 'end'])
    client.on(event, () => {
      for (const link of down) health.linkDown(link, lastError)
    })
}

/** A Lua script the adapter runs by its SHA1 (ioredis loads it again when Redis lost its script cache). */
export interface LuaScript {
  /** The command name it is defined under, unique among the adapter's scripts. */
  name: string
  /** How many of its arguments are keys (they come first). */
  keys: number
  lua: string
}

export type RunScript = (...keysThenArgs: (string | number)[]) => Promise<unknown>

/** Defines `script` on `client` (EVALSHA, falling back to EVAL) and returns the function that runs it. */
export function defineScript(client: AnyRedis, script: LuaScript): RunScript {
  client.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua })
  const run = (client as unknown as Record<string, RunScript>)[script.name]
  if (run === undefined) throw new Error(`ioredis did not define ${script.name}`)
  return run.bind(client)
}
