import type { SessionDirectory, SessionLease } from './adapter.js'
import { defineScript, type AnyRedis, type RunScript } from './redis-connection.js'
import type { RedisForwarder } from './redis-forward.js'
import type { RedisHealth } from './redis-health.js'
import type { RedisKeys } from './redis-keys.js'

/** A lease is the string `<nodeId> <fence>`, under the session's key, expiring with the lease. */
const FENCE_OF = `
local function fenceOf(lease)
  if not lease then return nil end
  return tonumber(string.match(lease, ' (%d+)$'))
end
`

/**
 * KEYS: lease. ARGV: this node, a fence just drawn, lease ms. Another node's live lease stands;
 * so does a greater fence (a later claim of this node that ran first).
 */
const CLAIM = `${FENCE_OF}
local lease = redis.call('GET', KEYS[1])
if lease and (string.sub(lease, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' or fenceOf(lease) > tonumber(ARGV[2])) then return lease end
local granted = ARGV[1] .. ' ' .. ARGV[2]
redis.call('SET', KEYS[1], granted, 'PX', ARGV[3])
return granted
`

/** KEYS: lease. ARGV: fence, lease ms. */
const RENEW = `${FENCE_OF}
if fenceOf(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

/** KEYS: lease. ARGV: fence, the new owner, a fence just drawn, lease ms. */
const HAND_OVER = `${FENCE_OF}
if fenceOf(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return false end
local granted = ARGV[2] .. ' ' .. ARGV[3]
redis.call('SET', KEYS[1], granted, 'PX', ARGV[4])
return granted
`

/** KEYS: lease. ARGV: fence. */
const RELEASE = `${FENCE_OF}
if fenceOf(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

function parseLease(lease: unknown): SessionLease | null {
  if (typeof lease !== 'string') return null
  const space = lease.lastIndexOf(' ')
  return { nodeId: lease.slice(0, space), fence: Number(lease.slice(space + 1)) }
}

/**
 * The session directory in Redis. Fences come from one counter for every session (INCR, then
 * the lease's script: two round trips, since a cluster keeps the counter and the lease on
 * different shards), so a fence is never handed out twice and a stale owner is always refused.
 */
export class RedisSessions implements SessionDirectory {
  #client: AnyRedis
  #keys: RedisKeys
  #health: RedisHealth
  #forwarder: RedisForwarder
  #claim: RunScript
  #renew: RunScript
  #handOver: RunScript
  #release: RunScript

  constructor(client: AnyRedis, keys: RedisKeys, health: RedisHealth, forwarder: RedisForwarder) {
    this.#client = client
    this.#keys = keys
    this.#health = health
    this.#forwarder = forwarder
    this.#claim = defineScript(client, { name: 'switchboardClaim', keys: 1, lua: CLAIM })
    this.#renew = defineScript(client, { name: 'switchboardRenew', keys: 1, lua: RENEW })
    this.#handOver = defineScript(client, { name: 'switchboardHandOver', keys: 1, lua: HAND_OVER })
    this.#release = defineScript(client, { name: 'switchboardRelease', keys: 1, lua: RELEASE })
  }

  get nodeId(): string {
    return this.#forwarder.nodeId
  }

  async claim(sessionId: string, leaseMs: number): Promise<SessionLease> {
    const fence = await this.#drawFence()
    return parseLease(await this.#health.send(() => this.#claim(this.#keys.lease(sessionId), this.nodeId, fence, leaseMs)))!
  }

  async owner(sessionId: string): Promise<SessionLease | null> {
    return parseLease(await this.#health.send(() => this.#client.get(this.#keys.lease(sessionId))))
  }

  async renew(sessionId: string, fence: number, leaseMs: number): Promise<boolean> {
    return (await this.#health.send(() => this.#renew(this.#keys.lease(sessionId), fence, leaseMs))) === 1
  }

  async handOver(sessionId: string, fence: number, toNodeId: string, leaseMs: number): Promise<SessionLease | null> {
    const next = await this.#drawFence()
    return parseLease(await this.#health.send(() => this.#handOver(this.#keys.lease(sessionId), fence, toNodeId, next, leaseMs)))
  }

  async release(sessionId: string, fence: number): Promise<boolean> {
    return (await this.#health.send(() => this.#release(this.#keys.lease(sessionId), fence))) === 1
  }

  forward(nodeId: string, request: string, timeoutMs: number): Promise<string> {
    return this.#forwarder.forward(nodeId, request, timeoutMs)
  }

  #drawFence(): Promise<number> {
    return this.#health.send(() => this.#client.incr(this.#keys.fence()))
  }
}
