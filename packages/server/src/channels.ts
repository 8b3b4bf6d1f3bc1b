import { SIZED_DATA_CHARS, utf8Length } from '@switchboard/protocol'
import type { Adapter } from './adapters/adapter.js'
import type { Logger } from './log.js'
import type { Session } from './session.js'
import { assertPolicy, type SlowConsumerPolicy } from './slow-consumer.js'
import { Subscription } from './subscription.js'

/** Who is asking, about which channel, to do what. */
export interface ChannelContext<Identity = unknown> {
  channel: string
  action: 'subscribe' | 'publish'
  identity: Identity
  sessionId: string
}

/** How a family of channels behaves. Every hook may be async. */
export interface ChannelOptions<Msg = unknown, Identity = unknown> {
  /** May this session subscribe or publish? Return false (FORBIDDEN) or throw a SwitchboardError. Default: yes. */
  authorize?: (ctx: ChannelContext<Identity>) => boolean | Promise<boolean>
  /**
   * Validates and shapes a client publish: return the message to fan out, or throw to refuse
   * (a SwitchboardError keeps its code; anything else is answered FORBIDDEN). Default: data as sent.
   */
  onPublish?: (data: unknown, ctx: ChannelContext<Identity>) => Msg | Promise<Msg>
  /** May clients publish at all? Default: true. Server-side `publish()` always may. */
  clientPublish?: boolean
  /** Messages kept per channel so a resubscribe with `since` can catch up. Default: 0. */
  historySize?: number
  /**
   * What a subscriber that cannot keep up gets, once its session's replay buffer is full of
   * unacked frames: `'catch-up'` (default) stops queueing this channel for it and, once it acks,
   * sends what it missed from history, then goes live again: nothing lost, doubled or reordered,
   * and what history no longer holds is named (`missing` on the client); `'latest'` keeps only
   * the newest message waiting (prices, scores), marked with how many it replaced; `'end'` ends
   * the session with SLOW_CONSUMER (the client resubscribes with `since` on a new one).
   */
  slowConsumer?: SlowConsumerPolicy
}

export interface ChannelDefinition {
  pattern: string
  regex: RegExp
  options: ChannelOptions<unknown, unknown>
}

const NO_CHANNELS: ReadonlySet<string> = new Set()

/** `*` matches one or more characters other than `:`; everything else is literal. */
export function compilePattern(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^:]+')
  return new RegExp(`^${source}$`)
}

/**
 * The part of the adapter that learns which channels this node has subscribers for, and where a
 * subscriber that fell behind reads what it missed.
 */
export type ChannelInterest = Pick<Adapter, 'subscribe' | 'unsubscribe' | 'history'>

/**
 * Declared channel families and who subscribes to what on this node. The adapter hears of a
 * channel when it gets its first local subscriber and when it loses its last, so a broker
 * carries to this node only the channels someone here listens to.
 */
export class ChannelRegistry {
  #definitions: ChannelDefinition[] = []
  #subscriptions = new Map<string, Map<Session, Subscription>>()
  /** The channels of each session that subscribed: a session that never does costs no entry here. */
  #channelsOf = new Map<Session, Set<string>>()
  /** `interest.subscribe` calls in flight, or failed, by channel: joiners wait for them. */
  #pending = new Map<string, Promise<void>>()
  #interest: ChannelInterest
  #logger: Logger | undefined
  #byteLength: (s: string) => number

  /** `byteLength`: UTF-8 size of a large message's body, once per message (Node passes Buffer.byteLength). */
  constructor(interest: ChannelInterest, logger?: Logger, byteLength: (s: string) => number = utf8Length) {
    this.#interest = interest
    this.#logger = logger
    this.#byteLength = byteLength
  }

  define(pattern: string, options: ChannelOptions<unknown, unknown>): void {
    if (pattern.length === 0) throw new TypeError('A channel pattern cannot be empty')
    if (this.#definitions.some((d) => d.pattern === pattern)) throw new TypeError(`Channel "${pattern}" is defined twice`)
    assertPolicy(options.slowConsumer)
    this.#definitions.push({ pattern, regex: compilePattern(pattern), options })
  }

  /** The first definition (in declaration order) that matches `channel`. */
  match(channel: string): ChannelDefinition | undefined {
    for (let i = 0; i < this.#definitions.length; i++) {
      const d = this.#definitions[i]!
      if (d.regex.test(channel)) return d
    }
    return undefined
  }

  /**
   * Subscribes `session` (again, if it already is): its live messages are held until the
   * subscription opens. The channel's first subscriber registers this node's interest.
   */
  join(channel: string, session: Session): Subscription {
    let subscriptions = this.#subscriptions.get(channel)
    if (subscriptions === undefined) {
      this.#subscriptions.set(channel, (subscriptions = new Map()))
      this.#register(channel)
    }
    let subscription = subscriptions.get(session)
    if (subscription !== undefined) subscription.hold()
    else {
      const policy = this.match(channel)?.options.slowConsumer ?? 'catch-up'
      subscriptions.set(session, (subscription = new Subscription(session, channel, policy, this.#interest, this.#logger)))
      let channels = this.#channelsOf.get(session)
      if (channels === undefined) this.#channelsOf.set(session, (channels = new Set()))
      channels.add(channel)
    }
    return subscription
  }

  /** Settles once the adapter delivers `channel` here; undefined when it already does. Rejects if it cannot. */
  ready(channel: string): Promise<void> | undefined {
    return this.#pending.get(channel)
  }

  leave(channel: string, session: Session): void {
    const channels = this.#channelsOf.get(session)
    if (channels?.delete(channel) && channels.size === 0) this.#channelsOf.delete(session)
    const subscriptions = this.#subscriptions.get(channel)
    const subscription = subscriptions?.get(session)
    if (subscriptions === undefined || subscription === undefined) return
    subscription.close()
    subscriptions.delete(session)
    if (subscriptions.size > 0) return
    this.#subscriptions.delete(channel)
    this.#pending.delete(channel)
    this.#call('unsubscribe', channel)
  }

  removeAll(session: Session): void {
    const channels = this.#channelsOf.get(session)
    if (channels === undefined) return
    for (const channel of channels) this.leave(channel, session)
  }

  /** The channels `session` subscribes to on this node. */
  channelsOf(session: Session): ReadonlySet<string> {
    return this.#channelsOf.get(session) ?? NO_CHANNELS
  }

  /** The subscription of `session` to `channel` on this node, if any. */
  subscriptionOf(channel: string, session: Session): Subscription | undefined {
    return this.#subscriptions.get(channel)?.get(session)
  }

  /** Local subscribers of `channel`, those whose subscribe is being served included. */
  subscriberCount(channel: string): number {
    return this.#subscriptions.get(channel)?.size ?? 0
  }

  /**
   * Fans a message out to this node's subscribers: the body was encoded once, each session adds
   * its seq. A large body is measured here, once, for every subscriber's frame (see SIZED_DATA_CHARS).
   */
  deliver(channel: string, offset: number, epoch: string, body: string): void {
    const subscriptions = this.#subscriptions.get(channel)
    if (subscriptions === undefined) return
    const bytes = body.length < SIZED_DATA_CHARS ? undefined : this.#byteLength(body)
    for (const subscription of subscriptions.values()) subscription.deliver(offset, epoch, body, bytes)
  }

  #register(channel: string): void {
    const pending = this.#call('subscribe', channel)
    if (pending === undefined) return
    // A failed subscribe stays pending, so later joiners fail too, until the channel empties.
    const settled: Promise<void> = pending.then(() => {
      if (this.#pending.get(channel) === settled) this.#pending.delete(channel)
    })
    this.#pending.set(channel, settled)
  }

  /** Calls the adapter; a synchronous throw becomes a rejection, an unsubscribe's failure is logged. */
  #call(method: 'subscribe' | 'unsubscribe', channel: string): Promise<void> | undefined {
    let answer: void | Promise<void>
    try {
      answer = this.#interest[method](channel)
    } catch (e) {
      answer = Promise.reject(e)
    }
    if (!(answer instanceof Promise)) return undefined
    if (method === 'subscribe') return answer
    answer.catch((e: unknown) => this.#logger?.({ kind: 'channel', message: `unsubscribe from ${channel} failed`, data: e }))
    return undefined
  }
}
