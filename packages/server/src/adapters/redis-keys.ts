/**
 * The names of everything the Redis adapter keeps in Redis, under one prefix. The keys of one
 * channel (and its pub/sub channel) share a hash tag, `{ch:NAME}`, so a Redis Cluster keeps them in
 * one slot: the publish script may touch them all, and sharded pub/sub routes the channel's
 * messages to the shard that holds them. The tag starts with `ch:`, so it is never empty, and a
 * `}` inside a name only shortens it the same way for every key of that channel.
 */
export class RedisKeys {
  readonly prefix: string

  constructor(prefix: string) {
    this.prefix = prefix
  }

  /** Hash `{ o: last offset, e: epoch }`: the channel's stream position. */
  meta(channel: string): string {
    return `${this.prefix}{ch:${channel}}:m`
  }

  /** Stream of the messages history keeps, each with the id `<offset>-<publish time ms>` and the field `b` (its body). */
  history(channel: string): string {
    return `${this.prefix}{ch:${channel}}:h`
  }

  /** String `<offset> <epoch>` of a keyed publish, expiring with the idempotency window. */
  idempotency(channel: string, key: string): string {
    return `${this.prefix}{ch:${channel}}:k:${key}`
  }

  /** The pub/sub channel that carries the channel's messages to the nodes that subscribed. */
  feed(channel: string): string {
    return `${this.prefix}{ch:${channel}}`
  }

  /** Sorted set of a channel's present members, scored by when each expires (ms). */
  presenceExpiry(channel: string): string {
    return `${this.prefix}{pr:${channel}}:z`
  }

  /** Hash of a channel's present members' info. */
  presenceInfo(channel: string): string {
    return `${this.prefix}{pr:${channel}}:i`
  }

  /** String `<nodeId> <fence>` of a session's lease, expiring with it. */
  lease(sessionId: string): string {
    return `${this.prefix}{se:${sessionId}}`
  }

  /** The one counter every fence is drawn from, so fences never repeat. */
  fence(): string {
    return `${this.prefix}fence`
  }

  /** The pub/sub channel a node takes forwarded requests (and answers to its own) on. */
  node(nodeId: string): string {
    return `${this.prefix}{node:${nodeId}}`
  }
}
