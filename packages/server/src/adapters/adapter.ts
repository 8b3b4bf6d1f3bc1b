/** Where a channel stands: the offset of its last message, and the epoch that offsets belong to. */
export interface ChannelPosition {
  offset: number
  /** Changes when the history is lost (a restart of the in-memory adapter, say); offsets restart with it. */
  epoch: string
}

/** A message kept in history: its offset and its pre-encoded MESSAGE body. */
export interface StoredMessage {
  offset: number
  body: string
}

/**
 * Carries channel traffic between nodes, assigns stream offsets and keeps history.
 * The in-memory adapter serves one node; the Redis adapter serves many.
 */
export interface Adapter {
  /** Called once: `deliver` receives every message published on any node, in offset order per channel. */
  start(deliver: (channel: string, offset: number, body: string) => void): void | Promise<void>
  /**
   * Publishes pre-encoded data (see encodeData): assigns the next offset, encodes the MESSAGE body
   * once, keeps up to `historySize` messages, and delivers to every node. Resolves to the offset.
   */
  publish(channel: string, dataJson: string, historySize: number): number | Promise<number>
  position(channel: string): ChannelPosition | Promise<ChannelPosition>
  /** Messages after `since`, oldest first, or null when history no longer holds all of them. */
  history(channel: string, since: number): StoredMessage[] | null | Promise<StoredMessage[] | null>
  /** The last `limit` messages kept in history, oldest first (fewer if history holds fewer). */
  recent(channel: string, limit: number): StoredMessage[] | Promise<StoredMessage[]>
  close(): void | Promise<void>
}
