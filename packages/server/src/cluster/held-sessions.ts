import { SwitchboardError } from '@switchboard/protocol'
import type { SessionDirectory } from '../adapters/adapter.js'
import { createRandomId } from '../random.js'

/** The lease this node holds on one of its sessions; fence 0 until a claim got through. */
interface HeldLease {
  fence: number
  renewedAt: number
}

/**
 * The sessions this node holds in the directory: a lease each (claimed, renewed, released or
 * handed over with its fence) and each one's publish key (see NegotiateResponse.publishKey:
 * its publishes count once per key, cluster-wide).
 */
export class HeldSessions {
  readonly leaseMs: number
  #directory: SessionDirectory
  #leases = new Map<string, HeldLease>()
  #publishKeys = new Map<string, string>()

  constructor(directory: SessionDirectory, leaseMs: number) {
    this.#directory = directory
    this.leaseMs = leaseMs
  }

  /**
   * Claims a new session for this node. A claim that fails (the broker is down) leaves the session
   * here, reachable only on this node until a renewal claims it; the error is thrown for the log.
   */
  async claim(sid: string): Promise<void> {
    const held: HeldLease = { fence: 0, renewedAt: Date.now() }
    this.#leases.set(sid, held)
    this.#publishKeys.set(sid, createRandomId(12))
    const lease = await this.#directory.claim(sid, this.leaseMs)
    if (lease.nodeId === this.#directory.nodeId) held.fence = lease.fence
  }

  /** The key of publish `seq` of session `sid`: `<publishKey>.<seq>`. */
  publishKey(sid: string, seq?: number): string | undefined {
    const key = this.#publishKeys.get(sid)
    return key === undefined || seq === undefined ? key : `${key}.${seq}`
  }

  /** A session that moved here with its fence and publish key. */
  adopt(sid: string, fence: number, publishKey: string): void {
    this.#leases.set(sid, { fence, renewedAt: Date.now() })
    this.#publishKeys.set(sid, publishKey)
  }

  /** The session ended here: its lease goes (a session that moved away handed its lease over instead). */
  release(sid: string): void {
    const held = this.#leases.get(sid)
    this.#publishKeys.delete(sid)
    if (held === undefined) return
    this.#leases.delete(sid)
    if (held.fence > 0) Promise.resolve(this.#directory.release(sid, held.fence)).catch(() => {})
  }

  /** The fence of session `sid`'s lease; NODE_UNREACHABLE when this node has none to hand over. */
  fenceOf(sid: string): number {
    const held = this.#leases.get(sid)
    if (held === undefined || held.fence === 0) throw new SwitchboardError('NODE_UNREACHABLE', 'The session has no lease to hand over')
    return held.fence
  }

  /** Hands session `sid`'s lease (`fence`) to node `to`: its new fence, and its publish key. */
  async handOver(sid: string, fence: number, to: string): Promise<{ fence: number; publishKey: string }> {
    const lease = await this.#directory.handOver(sid, fence, to, this.leaseMs)
    if (lease === null) throw new SwitchboardError('UNKNOWN_SESSION', 'The session was handed over already')
    return { fence: lease.fence, publishKey: this.#publishKeys.get(sid) ?? '' }
  }

  /** Forgets session `sid` once it moved away (its lease is the new node's now). */
  left(sid: string): void {
    this.#leases.delete(sid)
    this.#publishKeys.delete(sid)
  }

  /**
   * Renews every lease past half its life (called by the sweep); claims again a lease the broker
   * lost. `stale` hears of a session another node turns out to serve.
   */
  renew(now: number, stale: (sid: string, nodeId: string) => void): void {
    for (const [sid, held] of this.#leases) {
      if (now - held.renewedAt < this.leaseMs / 2) continue
      held.renewedAt = now
      void this.#renewOne(sid, held, stale)
    }
  }

  async #renewOne(sid: string, held: HeldLease, stale: (sid: string, nodeId: string) => void): Promise<void> {
    try {
      if (held.fence > 0 && (await this.#directory.renew(sid, held.fence, this.leaseMs))) return
      const lease = await this.#directory.claim(sid, this.leaseMs)
      if (lease.nodeId === this.#directory.nodeId) held.fence = lease.fence
      // Another node serves it: this copy is stale (it cannot happen without a broker that lost writes).
      else stale(sid, lease.nodeId)
    } catch {
      // The broker is away: the next sweep after half a lease tries again.
    }
  }
}
