import type { Logger } from '../log.js'

/** An answer now, or later from a broker: an adapter answers synchronously when it needs no I/O. */
type MaybePromise<T> = T | Promise<T>

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

/** What a history read found, and where the channel stood when it was read. */
export interface HistoryPage extends ChannelPosition {
  /** Contiguous offsets, oldest first: the ones asked for that history still holds. */
  messages: StoredMessage[]
}

/** What an adapter reports to its node. */
export interface AdapterEvents {
  /**
   * A message published on any node, to a channel this node subscribed to: in offset order per
   * channel, each once. Called on the data path of every message: keep it cheap.
   */
  onMessage(channel: string, offset: number, epoch: string, body: string): void
  /** A request forwarded to this node by `sessions.forward`: answer it (or throw a SwitchboardError). */
  onForward?(request: string): MaybePromise<string>
  /** The server's logger, when it has one: where a broker adapter says it lost or regained its broker. */
  logger?: Logger
}

/** One member of a channel's presence. */
export interface PresenceMember {
  member: string
  /** Pre-encoded JSON the owner attached (who it is, what it shows). */
  infoJson: string
}

/**
 * Who is present in a channel, across nodes. Each entry has a time to live that its owner
 * refreshes by adding it again, so the members of a node that died expire on their own.
 */
export interface PresenceStore {
  /** Adds `member`, or refreshes it (and its info): it expires `ttlMs` after the last add. */
  add(channel: string, member: string, infoJson: string, ttlMs: number): MaybePromise<void>
  remove(channel: string, member: string): MaybePromise<void>
  /** The members whose time to live has not run out, in no particular order. */
  list(channel: string): MaybePromise<PresenceMember[]>
}

/** A session's owner: a node, and the fence it holds the session with. */
export interface SessionLease {
  nodeId: string
  /** Grows with every claim and hand-over of the session, never reused: a stale owner holds a smaller one. */
  fence: number
}

/**
 * Which node owns each session, so that a request landing on another node can be forwarded to
 * the owner in one hop, and ownership can move without two nodes serving a session at once.
 * Every write is fenced: it names the fence its caller holds and is refused when that is not the
 * session's current one.
 */
export interface SessionDirectory {
  /** This node's id, as other nodes address it. */
  readonly nodeId: string
  /**
   * True when no other node can exist (the memory adapter): every session is on this node, and
   * the core neither claims sessions nor routes requests.
   */
  readonly local?: boolean
  /**
   * Makes this node the owner for `leaseMs` (with a new fence) unless another node holds a live
   * lease. Returns the session's lease afterwards: compare its `nodeId` with this node's.
   */
  claim(sessionId: string, leaseMs: number): MaybePromise<SessionLease>
  /** The live lease, or null when the session has none (never claimed, released, or lapsed). */
  owner(sessionId: string): MaybePromise<SessionLease | null>
  /** Extends the lease; false when `fence` is no longer the session's (another node took it over). */
  renew(sessionId: string, fence: number, leaseMs: number): MaybePromise<boolean>
  /** Moves ownership to `toNodeId` with a new fence; null when `fence` is stale. */
  handOver(sessionId: string, fence: number, toNodeId: string, leaseMs: number): MaybePromise<SessionLease | null>
  /** Ends the lease; false when `fence` is stale. */
  release(sessionId: string, fence: number): MaybePromise<boolean>
  /**
   * Sends a short request to node `nodeId` (its `onForward`) and resolves to the answer.
   * Rejects with NODE_UNREACHABLE when that node is unknown or does not answer within `timeoutMs`;
   * its `data` is `{ gone: true }` when nobody listens for that node at all (it died, or left).
   */
  forward(nodeId: string, request: string, timeoutMs: number): Promise<string>
}

/**
 * Carries channel traffic between nodes, assigns stream offsets, keeps history, presence and
 * the session directory. The in-memory adapter serves one node; an adapter over a broker serves
 * many. The contract is in docs/adapter.md, and test/adapter-conformance checks an adapter
 * against it. Methods answer synchronously when they can: the core awaits only promises.
 */
export interface Adapter {
  /** Called once, before any other method. */
  start(events: AdapterEvents): MaybePromise<void>
  /**
   * This node has local subscribers for `channel` (its first one arrived): deliver its messages
   * from when this settles. Called alternately with `unsubscribe` per channel; calls for one
   * channel take effect in the order they were made.
   */
  subscribe(channel: string): MaybePromise<void>
  /** This node's last local subscriber of `channel` left: its messages may stop coming. */
  unsubscribe(channel: string): MaybePromise<void>
  /**
   * Publishes pre-encoded data (see encodeData): assigns the channel's next offset, builds the
   * MESSAGE body once (joinMessageBody), keeps up to `historySize` messages, and delivers to every
   * subscribed node. Resolves to the offset. A repeat of `idempotencyKey` on the same channel
   * within the adapter's window resolves to the first publish's offset and is neither stored nor
   * delivered again.
   */
  publish(channel: string, dataJson: string, historySize: number, idempotencyKey?: string): MaybePromise<number>
  position(channel: string): MaybePromise<ChannelPosition>
  /** The messages after offset `since` that history still holds, oldest first. */
  history(channel: string, since: number): MaybePromise<HistoryPage>
  /** The last `limit` messages history holds, oldest first (fewer if it holds fewer). */
  recent(channel: string, limit: number): MaybePromise<HistoryPage>
  readonly presence: PresenceStore
  readonly sessions: SessionDirectory
  /** Stops delivering and lets go of the adapter's resources. */
  close(): MaybePromise<void>
}

/** How long an idempotency key is remembered per channel, unless an adapter is told otherwise. */
export const IDEMPOTENCY_WINDOW_MS = 120_000
