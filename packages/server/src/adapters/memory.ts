import { randomBytes } from 'node:crypto'
import { joinMessageBody } from '@switchboard/protocol'
import type { Adapter, ChannelPosition, StoredMessage } from './adapter.js'

interface ChannelLog {
  offset: number
  /** Ring of the last `historySize` messages, oldest first. */
  history: StoredMessage[]
}

/** The embedded default: one node, history in memory, a new epoch per process. */
export function createMemoryAdapter(): Adapter {
  const epoch = randomBytes(6).toString('base64url')
  const logs = new Map<string, ChannelLog>()
  let deliver: ((channel: string, offset: number, body: string) => void) | undefined

  const logOf = (channel: string): ChannelLog => {
    let log = logs.get(channel)
    if (!log) logs.set(channel, (log = { offset: 0, history: [] }))
    return log
  }

  return {
    start(fn) {
      deliver = fn
    },
    publish(channel, dataJson, historySize) {
      const log = logOf(channel)
      const offset = ++log.offset
      const body = joinMessageBody(channel, dataJson, offset)
      if (historySize > 0) {
        log.history.push({ offset, body })
        if (log.history.length > historySize) log.history.splice(0, log.history.length - historySize)
      }
      deliver?.(channel, offset, body)
      return offset
    },
    position(channel): ChannelPosition {
      return { offset: logs.get(channel)?.offset ?? 0, epoch }
    },
    history(channel, since) {
      const log = logs.get(channel)
      if (!log || since >= log.offset) return []
      const first = log.history[0]
      if (!first || first.offset > since + 1) return null
      return log.history.slice(since + 1 - first.offset)
    },
    recent(channel, limit) {
      const history = logs.get(channel)?.history ?? []
      return limit <= 0 ? [] : history.slice(-limit)
    },
    close() {
      deliver = undefined
      logs.clear()
    },
  }
}
