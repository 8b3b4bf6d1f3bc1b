import type { Session } from './session.js'

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
}

export interface ChannelDefinition {
  pattern: string
  regex: RegExp
  options: ChannelOptions<unknown, unknown>
}

/** `*` matches one or more characters other than `:`; everything else is literal. */
export function compilePattern(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^:]+')
  return new RegExp(`^${source}$`)
}

/** Declared channel families and who subscribes to what on this node. */
export class ChannelRegistry {
  #definitions: ChannelDefinition[] = []
  #subscribers = new Map<string, Set<Session>>()

  define(pattern: string, options: ChannelOptions<unknown, unknown>): void {
    if (pattern.length === 0) throw new TypeError('A channel pattern cannot be empty')
    if (this.#definitions.some((d) => d.pattern === pattern)) throw new TypeError(`Channel "${pattern}" is defined twice`)
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

  add(channel: string, session: Session): void {
    let set = this.#subscribers.get(channel)
    if (!set) this.#subscribers.set(channel, (set = new Set()))
    set.add(session)
    session.subscriptions.add(channel)
  }

  remove(channel: string, session: Session): void {
    session.subscriptions.delete(channel)
    const set = this.#subscribers.get(channel)
    if (!set) return
    set.delete(session)
    if (set.size === 0) this.#subscribers.delete(channel)
  }

  removeAll(session: Session): void {
    for (const channel of session.subscriptions) this.remove(channel, session)
  }

  /** Local subscribers of `channel`. */
  subscriberCount(channel: string): number {
    return this.#subscribers.get(channel)?.size ?? 0
  }

  /** Fans a message out to this node's subscribers: the body was encoded once, each session adds its seq. */
  deliver(channel: string, body: string): void {
    const set = this.#subscribers.get(channel)
    if (!set) return
    for (const session of set) session.sendMessage(body)
  }
}
