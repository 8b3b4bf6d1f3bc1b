import type { Logger } from '../log.js'
import type { AdapterEvents, HistoryPage } from './adapter.js'
import type { RedisKeys } from './redis-keys.js'
import type { PubSubHandler, PubSubLink } from './redis-pubsub.js'

interface Pending {
  offset: number
  epoch: string
  body: string
}

/** One channel this node subscribed to: where its deliveries stand. */
interface Feed {
  channel: string
  /** The last offset delivered (or read, before the first delivery), in `epoch`; '' until known. */
  offset: number
  epoch: string
  /** Messages that came while a repair reads what pub/sub missed; null when none runs. */
  queue: Pending[] | null
  handler: PubSubHandler
}

const COMMA = 44
const ZERO = 48

/**
 * Delivers each subscribed channel's messages to the node in offset order, each once. Pub/sub
 * drops what is published while a node's subscriber is disconnected: a message past the next
 * offset, or the end of an outage (catchUp), makes the feed read what it missed from history and
 * deliver that first. What history no longer holds goes through as a gap, and the core tells the
 * sessions.
 */
export class ChannelFeeds {
  #feeds = new Map<string, Feed>()
  #link: PubSubLink
  #keys: RedisKeys
  #read: (channel: string, since: number) => Promise<HistoryPage>
  #logger: () => Logger | undefined
  onMessage: AdapterEvents['onMessage'] | undefined

  constructor(link: PubSubLink, keys: RedisKeys, read: (channel: string, since: number) => Promise<HistoryPage>, logger: () => Logger | undefined) {
    this.#link = link
    this.#keys = keys
    this.#read = read
    this.#logger = logger
  }

  subscribe(channel: string): Promise<void> {
    const feed: Feed = { channel, offset: 0, epoch: '', queue: null, handler: (message) => this.#receive(feed, message) }
    this.#feeds.set(channel, feed)
    return this.#link.add(this.#keys.feed(channel), feed.handler)
  }

  unsubscribe(channel: string): void {
    this.#feeds.delete(channel)
    this.#link.remove(this.#keys.feed(channel))
  }

  /** A read found `channel` at this position: where its deliveries start, if none came yet. */
  observe(channel: string, offset: number, epoch: string): void {
    const feed = this.#feeds.get(channel)
    if (feed === undefined || feed.epoch !== '' || feed.queue !== null) return
    feed.offset = offset
    feed.epoch = epoch
  }

  close(): void {
    this.onMessage = undefined
    this.#feeds.clear()
  }

  /** `<offset>,<epoch>,<body>` from the publish script. On the data path: only the body is copied. */
  #receive(feed: Feed, message: string): void {
    let offset = 0
    let i = 0
    for (let c = message.charCodeAt(0); c !== COMMA; c = message.charCodeAt(++i)) {
      if (!(c >= ZERO && c <= ZERO + 9)) return // not ours
      offset = offset * 10 + (c - ZERO)
    }
    const epochEnd = message.indexOf(',', i + 1)
    if (epochEnd < 0) return
    const known = feed.epoch
    const epoch = epochEnd - i - 1 === known.length && message.startsWith(known, i + 1) ? known : message.slice(i + 1, epochEnd)
    const body = message.slice(epochEnd + 1)
    if (feed.queue !== null) feed.queue.push({ offset, epoch, body })
    else if (epoch !== known || offset === feed.offset + 1 || known === '') this.#deliver(feed, offset, epoch, body)
    else if (offset > feed.offset) void this.#repair(feed, { offset, epoch, body })
    // else: at or below what was delivered, a copy a repair already sent
  }

  #deliver(feed: Feed, offset: number, epoch: string, body: string): void {
    feed.offset = offset
    feed.epoch = epoch
    this.onMessage?.(feed.channel, offset, epoch, body)
  }

  /** Pub/sub and commands work again after an outage: each feed reads what it may have missed meanwhile. */
  catchUp(): void {
    for (const feed of this.#feeds.values()) if (feed.epoch !== '' && feed.queue === null) void this.#repair(feed, undefined)
  }

  /**
   * Reads what the feed missed, delivers it, then what came meanwhile: in order, each once. When
   * the epoch changed, the new epoch's history is all new. A read that fails (Redis went away
   * again) leaves the gap to the core, which the next message shows.
   */
  async #repair(feed: Feed, trigger: Pending | undefined): Promise<void> {
    feed.queue = trigger === undefined ? [] : [trigger]
    let page: HistoryPage | undefined
    try {
      page = await this.#read(feed.channel, feed.offset)
      if (page.epoch !== feed.epoch) page = await this.#read(feed.channel, 0)
    } catch (e) {
      this.#logger()?.({ kind: 'adapter', message: `could not read what ${feed.channel} missed`, data: e })
    }
    const queue = feed.queue
    feed.queue = null
    if (this.#feeds.get(feed.channel) !== feed) return
    if (page !== undefined) for (const m of page.messages) this.#deliverNew(feed, m.offset, page.epoch, m.body)
    for (const m of queue) this.#deliverNew(feed, m.offset, m.epoch, m.body)
  }

  #deliverNew(feed: Feed, offset: number, epoch: string, body: string): void {
    if (epoch !== feed.epoch || offset > feed.offset) this.#deliver(feed, offset, epoch, body)
  }
}
