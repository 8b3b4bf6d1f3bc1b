import { SwitchboardError } from '@switchboard/protocol'
import type { Logger } from '../log.js'

/**
 * `connecting` until Redis first answers; `healthy` while commands and pub/sub both work;
 * `degraded` while either cannot (publishes then fail fast with ADAPTER_UNAVAILABLE, and the
 * adapter reconnects by itself); `closed` after close().
 */
export type AdapterHealthState = 'connecting' | 'healthy' | 'degraded' | 'closed'

/** What `health()` answers: expose it on a readiness endpoint. */
export interface AdapterHealth {
  state: AdapterHealthState
  /** When the adapter entered this state (ms since the epoch). */
  since: number
  /** Why it is not healthy, when it is not. */
  reason?: string
}

const NEXT = {
  connecting: ['healthy', 'degraded', 'closed'],
  healthy: ['degraded', 'closed'],
  degraded: ['healthy', 'closed'],
  closed: [],
} as const satisfies Record<AdapterHealthState, readonly AdapterHealthState[]>

const NOT_YET = 'not connected yet'

/** The two ways the adapter reaches Redis: commands (publish, history, …) and pub/sub (deliveries). */
export type RedisLink = 'commands' | 'pubsub'

/**
 * The adapter's health, from the state of its links and from how its commands fare. Every change
 * is one transition, logged once through the server's logger.
 */
export class RedisHealth {
  #state: AdapterHealthState = 'connecting'
  #since = Date.now()
  #reason: string | undefined
  #down = new Map<RedisLink, string>([
    ['commands', NOT_YET],
    ['pubsub', NOT_YET],
  ])
  /** Why the last command failed although its link was up (Redis stalled, say); cleared by a success. */
  #failing: string | undefined
  #logger: Logger | undefined
  /** Told each time both links work again: what pub/sub dropped meanwhile can now be read back. */
  onHealthy: (() => void) | undefined
  /** Whether a command can be sent now (the commands connection is ready); set by openConnections. */
  canSend: () => boolean = () => true

  get state(): AdapterHealthState {
    return this.#state
  }

  /** Where transitions are logged; the server passes its logger when it starts the adapter. */
  set logger(logger: Logger | undefined) {
    this.#logger = logger
  }

  snapshot(): AdapterHealth {
    return this.#reason === undefined ? { state: this.#state, since: this.#since } : { state: this.#state, since: this.#since, reason: this.#reason }
  }

  linkUp(link: RedisLink): void {
    if (!this.#down.delete(link)) return
    this.#failing = undefined
    this.#update()
  }

  linkDown(link: RedisLink, reason: string): void {
    if (this.#down.get(link) === reason) return
    this.#down.set(link, reason)
    this.#update()
  }

  /** A command succeeded. On the publish path: one comparison when nothing changes. */
  succeeded(): void {
    if (this.#failing === undefined) return
    this.#failing = undefined
    this.#update()
  }

  /** A command failed: the error to answer with, ADAPTER_UNAVAILABLE when Redis could not serve it. */
  failed(e: unknown): SwitchboardError {
    const error = toAdapterError(e)
    if (error.code === 'ADAPTER_UNAVAILABLE' && this.#state !== 'closed') {
      this.#failing = error.message
      this.#update()
    }
    return error
  }

  /**
   * A rejection with ADAPTER_UNAVAILABLE when no command can be sent now, else undefined. Checked
   * before sending: a reconnecting Cluster queues commands, and would run a publish after its
   * caller was told it failed.
   */
  refuse(): Promise<never> | undefined {
    if (this.canSend()) return undefined
    return Promise.reject(new SwitchboardError('ADAPTER_UNAVAILABLE', 'Redis is unavailable: not connected'))
  }

  /** Settles as `reply` does, keeping health up to date; a failure becomes the coded error. No closure per call. */
  watch<T>(reply: Promise<T>): Promise<T> {
    return reply.then(this.#ok, this.#fail) as Promise<T>
  }

  /** Sends `command` (unless refused) and watches its reply. */
  send<T>(command: () => Promise<T>): Promise<T> {
    return this.refuse() ?? this.watch(command())
  }

  close(): void {
    this.#transition('closed', undefined)
  }

  #ok = (value: unknown): unknown => {
    this.succeeded()
    return value
  }

  #fail = (e: unknown): never => {
    throw this.failed(e)
  }

  #update(): void {
    if (this.#state === 'closed') return
    for (const [link, reason] of this.#down) {
      // Before Redis first answered, a link not yet up is still connecting, not degraded.
      if (reason !== NOT_YET || this.#state !== 'connecting') return this.#transition('degraded', `${link}: ${reason}`)
    }
    if (this.#down.size > 0) return
    if (this.#failing !== undefined) return this.#transition('degraded', `commands: ${this.#failing}`)
    this.#transition('healthy', undefined)
  }

  #transition(to: AdapterHealthState, reason: string | undefined): void {
    const from = this.#state
    if (from === to && this.#reason === reason) return
    if (from !== to && !(NEXT[from] as readonly AdapterHealthState[]).includes(to))
      throw new Error(`Redis adapter health cannot go from ${from} to ${to}`)
    this.#state = to
    this.#reason = reason
    if (from === to) return
    this.#since = Date.now()
    this.#logger?.({ kind: 'adapter', message: reason === undefined ? `redis ${to}` : `redis ${to}: ${reason}`, data: { from, to, reason } })
    if (to === 'healthy') this.onHealthy?.()
  }
}

/** Replies Redis gives while it cannot serve (loading its data, failing over, out of memory), rather than for a bad command. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|NOREPLICAS|MISCONF)\b/

/**
 * The SwitchboardError for a failed Redis call: ADAPTER_UNAVAILABLE when Redis could not be
 * reached or could not serve (a closed connection, a timeout, a node loading its data), INTERNAL
 * for an answer that says the call itself was wrong.
 */
export function toAdapterError(e: unknown): SwitchboardError {
  if (e instanceof SwitchboardError) return e
  const message = e instanceof Error ? e.message : String(e)
  const replied = e instanceof Error && e.name === 'ReplyError'
  if (replied && !UNAVAILABLE_REPLY.test(message)) return new SwitchboardError('INTERNAL', `Redis refused a command: ${message}`, { cause: e })
  return new SwitchboardError('ADAPTER_UNAVAILABLE', `Redis is unavailable: ${message}`, { cause: e })
}
