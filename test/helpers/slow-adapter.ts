import type { Adapter, AdapterEvents, PresenceStore, SessionDirectory } from '@switchboard/server'

export interface SlowAdapterOptions {
  /** Added before each call reaches the adapter, and again before its answer comes back. */
  latencyMs: number
  /** Added to each delivery, as a broker's pub/sub lags behind its commands. Default: 0. */
  deliveryLatencyMs?: number
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Wraps an adapter so that every call answers asynchronously, `latencyMs` each way, as one over
 * a network does. Calls keep their order (each waits the same time), as on one connection.
 */
export function slowAdapter(inner: Adapter, { latencyMs, deliveryLatencyMs = 0 }: SlowAdapterOptions): Adapter {
  const slow =
    <A extends unknown[], R>(call: (...args: A) => R | Promise<R>) =>
    async (...args: A): Promise<R> => {
      await wait(latencyMs)
      const answer = await call(...args)
      await wait(latencyMs)
      return answer
    }
  let closed = false
  const presence: PresenceStore = {
    add: slow((...args) => inner.presence.add(...args)),
    remove: slow((...args) => inner.presence.remove(...args)),
    list: slow((...args) => inner.presence.list(...args)),
  }
  const sessions: SessionDirectory = {
    nodeId: inner.sessions.nodeId,
    claim: slow((...args) => inner.sessions.claim(...args)),
    owner: slow((...args) => inner.sessions.owner(...args)),
    renew: slow((...args) => inner.sessions.renew(...args)),
    handOver: slow((...args) => inner.sessions.handOver(...args)),
    release: slow((...args) => inner.sessions.release(...args)),
    forward: slow((...args) => inner.sessions.forward(...args)),
  }
  return {
    start: slow((events: AdapterEvents) =>
      inner.start({
        onMessage(channel, offset, epoch, body) {
          if (deliveryLatencyMs === 0) return events.onMessage(channel, offset, epoch, body)
          setTimeout(() => closed || events.onMessage(channel, offset, epoch, body), deliveryLatencyMs)
        },
        ...(events.onForward ? { onForward: (request: string) => events.onForward!(request) } : {}),
      }),
    ),
    subscribe: slow((channel) => inner.subscribe(channel)),
    unsubscribe: slow((channel) => inner.unsubscribe(channel)),
    publish: slow((...args: Parameters<Adapter['publish']>) => inner.publish(...args)),
    position: slow((channel) => inner.position(channel)),
    history: slow((channel, since) => inner.history(channel, since)),
    recent: slow((channel, limit) => inner.recent(channel, limit)),
    presence,
    sessions,
    close: slow(() => {
      closed = true
      return inner.close()
    }),
  }
}
