import type { StreamPosition } from '@switchboard/protocol'
import type { Adapter, HistoryPage } from './adapters/adapter.js'

/** Messages a resubscribe could not replay, as offsets of the channel's current epoch, inclusive. */
export interface MissingMessages {
  /**
   * The first missing offset; null when the channel's history was lost since `since` (its epoch
   * changed): an unknown number of messages of the old epoch are gone, and offsets restarted.
   */
  from: number | null
  /** The last missing offset; 0 when nothing of the current epoch is missing (only older messages are). */
  to: number
}

/** What `subscribe` answers: where the channel stands, and whether `since` was fully replayed. */
export interface SubscribeResult {
  /** The last offset before live delivery: every message up to it was replayed, or is named in `missing`. */
  offset: number
  epoch: string
  /** True when every message after `since` was replayed from history (or no `since` was given). */
  recovered: boolean
  /** What could not be replayed, when `recovered` is false. */
  missing?: MissingMessages
}

/** A live message that arrived while its subscriber's catch-up was being read. */
export interface HeldMessage {
  offset: number
  epoch: string
  body: string
}

export interface CatchUp {
  /** Bodies to send, in offset order, each once. */
  bodies: string[]
  /** The offset of each body. */
  offsets: number[]
  result: SubscribeResult
}

/**
 * Reads what a subscribe replays: the history after `since` (all of the current epoch's when
 * `since` names another one), the `recent` latest messages, or just the position.
 */
export async function readCatchUp(adapter: Adapter, channel: string, since: StreamPosition | null, recent: number): Promise<HistoryPage> {
  if (since !== null) {
    const page = await adapter.history(channel, since[0])
    return page.epoch === since[1] ? page : adapter.history(channel, 0)
  }
  if (recent > 0) return adapter.recent(channel, recent)
  const { offset, epoch } = await adapter.position(channel)
  return { offset, epoch, messages: [] }
}

/**
 * Merges a history page with the live messages held meanwhile (they overlap when a message was
 * published between the two reads, and the held ones may reach past the page): each offset once,
 * in order. Then says what is missing between `since` and the first message sent.
 */
export function planCatchUp(since: StreamPosition | null, page: HistoryPage, held: readonly HeldMessage[]): CatchUp {
  const sameEpoch = since !== null && since[1] === page.epoch
  const history = page.messages
  // A newcomer starts where its page does; a resubscribe after `since`, or from 0 in a new epoch.
  let last = since === null ? (history[0]?.offset ?? page.offset + 1) - 1 : sameEpoch ? since[0] : 0
  let first = 0
  const bodies: string[] = []
  const offsets: number[] = []
  for (let i = 0, j = 0; ; ) {
    while (i < history.length && history[i]!.offset <= last) i++
    while (j < held.length && (held[j]!.epoch !== page.epoch || held[j]!.offset <= last)) j++
    const a = history[i]
    const b = held[j]
    const next = a !== undefined && (b === undefined || a.offset <= b.offset) ? a : b
    if (next === undefined) break
    bodies.push(next.body)
    offsets.push(next.offset)
    if (first === 0) first = next.offset
    last = next.offset
  }
  const offset = Math.max(page.offset, last)
  const result: SubscribeResult = { offset, epoch: page.epoch, recovered: true }
  if (since === null) return { bodies, offsets, result }
  // Everything between `since` and the first offset this subscriber gets, replayed or live, is missing.
  const to = (first === 0 ? offset + 1 : first) - 1
  if (!sameEpoch) result.missing = { from: null, to }
  else if (to > since[0]) result.missing = { from: since[0] + 1, to }
  result.recovered = result.missing === undefined
  return { bodies, offsets, result }
}
