import { SwitchboardError } from '@switchboard/protocol'
import type { AdapterEvents, SessionDirectory, SessionLease } from './adapter.js'
import { ExpiringMap } from './expiring-map.js'

/**
 * The session directory of a single node: every claim lands on this node, and forwarding is a
 * direct call of its own `onForward`. Fences come from one counter for every session, so a
 * session's fence grows across releases and lapses without remembering sessions that are gone.
 */
export class MemorySessions implements SessionDirectory {
  readonly nodeId: string
  readonly local = true
  #leases = new ExpiringMap<string, SessionLease>()
  #lastFence = 0
  #onForward: AdapterEvents['onForward']

  constructor(nodeId: string) {
    this.nodeId = nodeId
  }

  /** Where forwarded requests go; undefined stops taking them. */
  listen(onForward: AdapterEvents['onForward']): void {
    this.#onForward = onForward
  }

  claim(sessionId: string, leaseMs: number): SessionLease {
    const lease = this.#leases.get(sessionId)
    if (lease !== undefined && lease.nodeId !== this.nodeId) return { ...lease }
    return this.#grant(sessionId, this.nodeId, leaseMs)
  }

  owner(sessionId: string): SessionLease | null {
    const lease = this.#leases.get(sessionId)
    return lease === undefined ? null : { ...lease }
  }

  renew(sessionId: string, fence: number, leaseMs: number): boolean {
    const lease = this.#current(sessionId, fence)
    if (lease !== undefined) this.#leases.set(sessionId, lease, leaseMs)
    return lease !== undefined
  }

  handOver(sessionId: string, fence: number, toNodeId: string, leaseMs: number): SessionLease | null {
    if (this.#current(sessionId, fence) === undefined) return null
    return this.#grant(sessionId, toNodeId, leaseMs)
  }

  release(sessionId: string, fence: number): boolean {
    return this.#current(sessionId, fence) !== undefined && this.#leases.delete(sessionId)
  }

  async forward(nodeId: string, request: string, timeoutMs: number): Promise<string> {
    const handler = nodeId === this.nodeId ? this.#onForward : undefined
    if (handler === undefined) throw new SwitchboardError('NODE_UNREACHABLE', `Node "${nodeId}" is not listening`, { data: { gone: true } })
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SwitchboardError('NODE_UNREACHABLE', `Node "${nodeId}" did not answer within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      return await Promise.race([Promise.resolve().then(() => handler(request)), late])
    } catch (e) {
      throw e instanceof SwitchboardError ? e : new SwitchboardError('INTERNAL', undefined, { cause: e })
    } finally {
      clearTimeout(timer)
    }
  }

  clear(): void {
    this.#leases = new ExpiringMap()
    this.#onForward = undefined
  }

  /** The live lease when `fence` is its fence. */
  #current(sessionId: string, fence: number): SessionLease | undefined {
    const lease = this.#leases.get(sessionId)
    return lease !== undefined && lease.fence === fence ? lease : undefined
  }

  #grant(sessionId: string, nodeId: string, leaseMs: number): SessionLease {
    const lease = { nodeId, fence: ++this.#lastFence }
    this.#leases.set(sessionId, lease, leaseMs)
    return { ...lease }
  }
}
