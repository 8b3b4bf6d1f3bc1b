import type { PresenceMember, PresenceStore } from './adapter.js'
import { defineScript, type AnyRedis, type RunScript } from './redis-connection.js'
import type { RedisHealth } from './redis-health.js'
import type { RedisKeys } from './redis-keys.js'

/**
 * Drops the expired members, by Redis's clock (the nodes' clocks may disagree), and lets both keys
 * expire with the last member, so a channel everyone left leaves nothing behind.
 */
const SWEEP = `
local function sweep(expiry, info)
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  if #gone > 0 then
    redis.call('HDEL', info, unpack(gone))
    redis.call('ZREMRANGEBYSCORE', expiry, '-inf', now)
  end
  return now
end
`

/** KEYS: expiry (zset), info (hash). ARGV: member, info JSON, ttl ms. */
const ADD = `${SWEEP}
local now = sweep(KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local last = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIREAT', KEYS[1], last)
redis.call('PEXPIREAT', KEYS[2], last)
`

/** KEYS: expiry, info. ARGV: member. */
const REMOVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
`

/** KEYS: expiry, info. Answers `[member, info, member, info, …]`. */
const LIST = `${SWEEP}
sweep(KEYS[1], KEYS[2])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
if #members == 0 then return {} end
local infos = redis.call('HMGET', KEYS[2], unpack(members))
local list = {}
for i = 1, #members do
  list[#list + 1] = members[i]
  list[#list + 1] = infos[i] or 'null'
end
return list
`

/**
 * Presence shared by every node: per channel, a sorted set of members scored by when they expire
 * and a hash of their info, under the channel's hash tag so each script stays on one shard.
 */
export class RedisPresence implements PresenceStore {
  #keys: RedisKeys
  #health: RedisHealth
  #add: RunScript
  #remove: RunScript
  #list: RunScript

  constructor(client: AnyRedis, keys: RedisKeys, health: RedisHealth) {
    this.#keys = keys
    this.#health = health
    this.#add = defineScript(client, { name: 'switchboardPresenceAdd', keys: 2, lua: ADD })
    this.#remove = defineScript(client, { name: 'switchboardPresenceRemove', keys: 2, lua: REMOVE })
    this.#list = defineScript(client, { name: 'switchboardPresenceList', keys: 2, lua: LIST })
  }

  async add(channel: string, member: string, infoJson: string, ttlMs: number): Promise<void> {
    await this.#run(this.#add, channel, member, infoJson, ttlMs)
  }

  async remove(channel: string, member: string): Promise<void> {
    await this.#run(this.#remove, channel, member)
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const flat = (await this.#run(this.#list, channel)) as string[]
    const list: PresenceMember[] = []
    for (let i = 0; i < flat.length; i += 2) list.push({ member: flat[i]!, infoJson: flat[i + 1]! })
    return list
  }

  #run(script: RunScript, channel: string, ...args: (string | number)[]): Promise<unknown> {
    return this.#health.send(() => script(this.#keys.presenceExpiry(channel), this.#keys.presenceInfo(channel), ...args))
  }
}
