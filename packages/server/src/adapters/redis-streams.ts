import { messageBodyHead } from '@switchboard/protocol'
import type { ChannelPosition, HistoryPage, StoredMessage } from './adapter.js'
import { defineScript, type AnyRedis, type RunScript } from './redis-connection.js'
import type { RedisHealth } from './redis-health.js'
import type { RedisKeys } from './redis-keys.js'

/**
 * The channel's epoch, made anew when its position is gone: a new channel, or one whose keys Redis
 * lost (a restart without persistence, an eviction). Offsets then start again at 1, and history
 * of the old epoch must not mix with the new one. TIME makes it unique per loss; the node's salt
 * keeps it so even if Redis's clock went back.
 */
const EPOCH_OF = `
local function epochOf(meta, history, salt)
  local epoch = redis.call('HGET', meta, 'e')
  if epoch then return epoch end
  local t = redis.call('TIME')
  epoch = salt .. t[1] .. t[2]
  redis.call('HSET', meta, 'e', epoch, 'o', 0)
  redis.call('DEL', history)
  return epoch
end
local function nowMs()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
local function stamp(id)
  return tonumber(string.match(id, '%-(%d+)$'))
end
`

/**
 * One publish, atomically: the epoch, the idempotency check, the next offset, the body, history
 * bounded by count and age, and the delivery to the pub/sub channel, as `<offset>,<epoch>,<body>`.
 * KEYS: meta, history[, idempotency key]. ARGV: body head, history size, max age ms (0: none),
 * idempotency window ms, epoch salt, PUBLISH or SPUBLISH, pub/sub channel.
 */
const PUBLISH = `${EPOCH_OF}
local function trimOlderThan(history, cutoff)
  local from = '-'
  while true do
    local batch = redis.call('XRANGE', history, from, '+', 'COUNT', 64)
    for i = 1, #batch do
      if stamp(batch[i][1]) >= cutoff then
        redis.call('XTRIM', history, 'MINID', batch[i][1])
        return
      end
    end
    if #batch < 64 then
      redis.call('DEL', history)
      return
    end
    from = '(' .. batch[#batch][1]
  end
end
local meta, history, idem = KEYS[1], KEYS[2], KEYS[3]
local epoch = epochOf(meta, history, ARGV[5])
if idem then
  local first = redis.call('GET', idem)
  if first then
    local offset, firstEpoch = string.match(first, '^(%d+) (.*)$')
    if firstEpoch == epoch then return tonumber(offset) end
  end
end
local offset = redis.call('HINCRBY', meta, 'o', 1)
local body = ARGV[1] .. offset
local size = tonumber(ARGV[2])
if size > 0 then
  local now = nowMs()
  redis.call('XADD', history, 'MAXLEN', size, string.format('%d-%d', offset, now), 'b', body)
  local maxAge = tonumber(ARGV[3])
  if maxAge > 0 then
    trimOlderThan(history, now - maxAge)
    redis.call('PEXPIRE', history, maxAge)
  end
else
  redis.call('DEL', history)
end
if idem then redis.call('SET', idem, offset .. ' ' .. epoch, 'PX', ARGV[4]) end
redis.call(ARGV[6], ARGV[7], offset .. ',' .. epoch .. ',' .. body)
return offset
`

/**
 * The position and, by mode, the messages after an offset ('since') or the last n ('recent'),
 * oldest first, skipping those past the max age: `[offset, epoch, id, body, id, body, …]`.
 * KEYS: meta, history. ARGV: mode, n, max age ms (0: none), epoch salt.
 */
const READ = `${EPOCH_OF}
local meta, history = KEYS[1], KEYS[2]
local epoch = epochOf(meta, history, ARGV[4])
local offset = tonumber(redis.call('HGET', meta, 'o'))
local mode, n, maxAge = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local entries, first, last, step = {}, 1, 0, 1
if mode == 'since' and n < offset then
  entries = redis.call('XRANGE', history, string.format('%d-0', n + 1), '+')
  last = #entries
elseif mode == 'recent' and n > 0 then
  entries = redis.call('XREVRANGE', history, '+', '-', 'COUNT', n)
  first, last, step = #entries, 1, -1
end
local cutoff = 0
if maxAge > 0 then cutoff = nowMs() - maxAge end
local page = { offset, epoch }
for i = first, last, step do
  local id = entries[i][1]
  if stamp(id) >= cutoff then
    page[#page + 1] = id
    page[#page + 1] = entries[i][2][2]
  end
end
return page
`

export interface StreamSettings {
  idempotencyWindowMs: number
  /** Messages older than this leave history; 0 keeps them until the count bound drops them. */
  historyMaxAgeMs: number
  /** Part of every new epoch: this node's random salt. */
  salt: string
}

/**
 * Channel streams in Redis: offsets, epochs, history and idempotency keys, each publish one
 * script run (one round trip), each read another.
 */
export class RedisStreams {
  #keys: RedisKeys
  #settings: StreamSettings
  #health: RedisHealth
  #publishCommand: 'publish' | 'spublish'
  #publish: RunScript
  #publishKeyed: RunScript
  #read: RunScript
  /** Told the position every read finds, so deliveries can spot what pub/sub missed from there. */
  onRead: ((channel: string, offset: number, epoch: string) => void) | undefined

  constructor(client: AnyRedis, sharded: boolean, keys: RedisKeys, settings: StreamSettings, health: RedisHealth) {
    this.#keys = keys
    this.#settings = settings
    this.#health = health
    this.#publishCommand = sharded ? 'spublish' : 'publish'
    this.#publish = defineScript(client, { name: 'switchboardPublish', keys: 2, lua: PUBLISH })
    // The same script with the idempotency key declared among its keys, as a cluster requires.
    this.#publishKeyed = defineScript(client, { name: 'switchboardPublishKeyed', keys: 3, lua: PUBLISH })
    this.#read = defineScript(client, { name: 'switchboardRead', keys: 2, lua: READ })
  }

  publish(channel: string, dataJson: string, historySize: number, idempotencyKey?: string): Promise<number> {
    const refused = this.#health.refuse()
    if (refused !== undefined) return refused
    const k = this.#keys
    const s = this.#settings
    const args = [
      messageBodyHead(channel, dataJson),
      historySize,
      s.historyMaxAgeMs,
      s.idempotencyWindowMs,
      s.salt,
      this.#publishCommand,
      k.feed(channel),
    ]
    const run =
      idempotencyKey === undefined
        ? this.#publish(k.meta(channel), k.history(channel), ...args)
        : this.#publishKeyed(k.meta(channel), k.history(channel), k.idempotency(channel, idempotencyKey), ...args)
    return this.#health.watch(run) as Promise<number>
  }

  position(channel: string): Promise<ChannelPosition> {
    return this.#page(channel, 'position', 0).then(({ offset, epoch }) => ({ offset, epoch }))
  }

  history(channel: string, since: number): Promise<HistoryPage> {
    return this.#page(channel, 'since', since)
  }

  recent(channel: string, limit: number): Promise<HistoryPage> {
    return this.#page(channel, 'recent', limit)
  }

  async #page(channel: string, mode: 'position' | 'since' | 'recent', n: number): Promise<HistoryPage> {
    const { historyMaxAgeMs, salt } = this.#settings
    const reply = await this.#health.send(() => this.#read(this.#keys.meta(channel), this.#keys.history(channel), mode, n, historyMaxAgeMs, salt))
    const [offset, epoch, ...entries] = reply as [number, string, ...string[]]
    const messages: StoredMessage[] = []
    // Entry ids are `<offset>-<publish time>`: parseInt stops at the dash.
    for (let i = 0; i < entries.length; i += 2) messages.push({ offset: Number.parseInt(entries[i]!, 10), body: entries[i + 1]! })
    this.onRead?.(channel, offset, epoch)
    return { offset, epoch, messages }
  }
}
