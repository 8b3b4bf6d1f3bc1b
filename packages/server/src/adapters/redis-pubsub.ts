import { SwitchboardError } from '@switchboard/protocol'
import type { Logger } from '../log.js'
import type { RedisConnections } from './redis-connection.js'
import type { RedisHealth } from './redis-health.js'

/** Receives the messages of one pub/sub channel. */
export type PubSubHandler = (message: string) => void

/** SUBSCRIBE takes many channels at once; a resubscription sends them in batches this big. */
const RESUBSCRIBE_BATCH = 500

/**
 * The node's pub/sub: it subscribes only to the channels it has a handler for, and hands each
 * message to that handler. On one Redis server it is a connection of its own, subscribed again
 * from its handlers whenever it reconnects; on a Redis Cluster it is the Cluster's sharded
 * subscribers (one per shard, which ioredis subscribes again itself).
 */
export class PubSubLink {
  #handlers = new Map<string, PubSubHandler>()
  #connections: RedisConnections
  #health: RedisHealth
  #logger: () => Logger | undefined
  /**
   * Told when a Cluster's sharded subscribers are subscribed again (ioredis resubscribes them one
   * shard at a time, while the Cluster itself stays ready): messages may have been missed.
   */
  onShardsRestored: (() => void) | undefined

  constructor(connections: RedisConnections, health: RedisHealth, logger: () => Logger | undefined) {
    this.#connections = connections
    this.#health = health
    this.#logger = logger
    const { subscriber, sharded } = connections
    subscriber.on(sharded ? 'smessage' : 'message', this.#dispatch)
    if (sharded) subscriber.on('subscribersReady', () => this.onShardsRestored?.())
    else subscriber.on('ready', () => void this.#resubscribe())
  }

  /** Subscribes `name` for `handler`. Fails fast with ADAPTER_UNAVAILABLE while Redis is out of reach. */
  async add(name: string, handler: PubSubHandler): Promise<void> {
    this.#handlers.set(name, handler)
    const { subscriber, sharded } = this.#connections
    // A subscriber that is not ready would queue the command (a Cluster's shard) or refuse it.
    if (subscriber.status !== 'ready') throw new SwitchboardError('ADAPTER_UNAVAILABLE', 'Redis is unavailable: pub/sub is reconnecting')
    try {
      await (sharded ? subscriber.ssubscribe(name) : subscriber.subscribe(name))
    } catch (e) {
      throw this.#health.failed(e)
    }
  }

  /** Stops the messages of `name`; while disconnected there is nothing to stop (it is not subscribed again). */
  remove(name: string): void {
    if (!this.#handlers.delete(name)) return
    const { subscriber, sharded } = this.#connections
    if (subscriber.status !== 'ready') return
    ;(sharded ? subscriber.sunsubscribe(name) : subscriber.unsubscribe(name)).catch((e: unknown) =>
      this.#logger()?.({ kind: 'adapter', message: `unsubscribe from ${name} failed`, data: e }),
    )
  }

  /** One listener for every message: finds the handler by its channel's name, with no allocation. */
  #dispatch = (name: string, message: string): void => {
    this.#handlers.get(name)?.(message)
  }

  async #resubscribe(): Promise<void> {
    const names = [...this.#handlers.keys()]
    try {
      for (let i = 0; i < names.length; i += RESUBSCRIBE_BATCH) await this.#connections.subscriber.subscribe(...names.slice(i, i + RESUBSCRIBE_BATCH))
    } catch (e) {
      // It dropped again: the next 'ready' tries again.
      this.#health.linkDown('pubsub', e instanceof Error ? e.message : String(e))
      return
    }
    this.#health.linkUp('pubsub')
  }
}
