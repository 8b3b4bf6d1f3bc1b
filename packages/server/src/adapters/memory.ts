import { joinMessageBody } from '@switchboard/protocol'
import { createRandomId } from '../random.js'
import { IDEMPOTENCY_WINDOW_MS, type Adapter, type AdapterEvents, type ChannelPosition, type HistoryPage, type StoredMessage } from './adapter.js'
import { ExpiringMap } from './expiring-map.js'
import { MemoryPresence } from './memory-presence.js'
import { MemorySessions } from './memory-sessions.js'

/** Options of createMemoryAdapter. */
export interface MemoryAdapterOptions {
  /** How long a publish's idempotency key is remembered, per channel. Default: 120000 (2 minutes). */
  idempotencyWindowMs?: number
}

interface ChannelLog {
  offset: number
  /** Ring of the last `historySize` messages, oldest first. */
  history: StoredMessage[]
  /** Offsets of keyed publishes, by key, for the idempotency window. */
  keys: ExpiringMap<string, number> | undefined
}

/**
 * The embedded default: one node, history in memory, a new epoch per adapter. It answers every
 * call synchronously, so a publish costs no promise.
 * @example
 * const sb = createSwitchboard({ adapter: createMemoryAdapter({ idempotencyWindowMs: 60_000 }) })
 */
export function createMemoryAdapter(options: MemoryAdapterOptions = {}): Adapter {
  const windowMs = options.idempotencyWindowMs ?? IDEMPOTENCY_WINDOW_MS
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new TypeError('idempotencyWindowMs must be a positive number')
  let epoch = createRandomId(6)
  const logs = new Map<string, ChannelLog>()
  /** Channels this node subscribed to: the only ones delivered, as a broker would. */
  const interest = new Set<string>()
  const presence = new MemoryPresence()
  const sessions = new MemorySessions(createRandomId(9))
  let onMessage: AdapterEvents['onMessage'] | undefined

  const logOf = (channel: string): ChannelLog => {
    let log = logs.get(channel)
    if (!log) logs.set(channel, (log = { offset: 0, history: [], keys: undefined }))
    return log
  }

  const append = (channel: string, log: ChannelLog, dataJson: string, historySize: number): number => {
    const offset = ++log.offset
    const body = joinMessageBody(channel, dataJson, offset)
    if (historySize > 0) {
      log.history.push({ offset, body })
      if (log.history.length > historySize) log.history.splice(0, log.history.length - historySize)
    }
    if (onMessage !== undefined && interest.has(channel)) onMessage(channel, offset, epoch, body)
    return offset
  }

  const page = (log: ChannelLog | undefined, messages: StoredMessage[]): HistoryPage => ({
    offset: log?.offset ?? 0,
    epoch,
    messages,
  })

  return {
    start(events) {
      onMessage = events.onMessage
      sessions.listen(events.onForward)
    },
    subscribe(channel) {
      interest.add(channel)
    },
    unsubscribe(channel) {
      interest.delete(channel)
    },
    publish(channel, dataJson, historySize, idempotencyKey) {
      const log = logOf(channel)
      if (idempotencyKey === undefined) return append(channel, log, dataJson, historySize)
      const first = log.keys?.get(idempotencyKey)
      if (first !== undefined) return first
      const offset = append(channel, log, dataJson, historySize)
      log.keys ??= new ExpiringMap()
      log.keys.set(idempotencyKey, offset, windowMs)
      return offset
    },
    position(channel): ChannelPosition {
      return { offset: logs.get(channel)?.offset ?? 0, epoch }
    },
    history(channel, since) {
      const log = logs.get(channel)
      const first = log?.history[0]
      if (!log || !first || since >= log.offset) return page(log, [])
      return page(log, log.history.slice(Math.max(0, since + 1 - first.offset)))
    },
    recent(channel, limit) {
      const log = logs.get(channel)
      return page(log, !log || limit <= 0 ? [] : log.history.slice(-limit))
    },
    presence,
    sessions,
    close() {
      onMessage = undefined
      logs.clear()
      // Offsets would start again at 1: a publish after close must not reuse the epoch.
      epoch = createRandomId(6)
      interest.clear()
      presence.clear()
      sessions.clear()
    },
  }
}
