import { FrameType, SwitchboardError, type ClientDataFrame, type ClientFrame } from '@switchboard/protocol'
import type { TabRequest } from './messages.js'

/** A request of this tab, from when it is made until its answer. */
export interface TabPending {
  readonly id: number
  /** The request, or (SUBSCRIBE, UNSUBSCRIBE) how to build it: at each send, so a subscribe's `since` is read then. */
  readonly request: TabRequest | ((seq: number) => ClientFrame)
  resolve(result: unknown): void
  reject(error: SwitchboardError): void
  /** Date.now() ms, or Infinity. */
  readonly deadline: number
  readonly timeoutMs: number
  /** The hub it was last sent to, or null while it waits for one. */
  hub: string | null
  timer: ReturnType<typeof setTimeout> | undefined
}

const LEADER_CLOSED = 'The tab holding the shared connection closed; this request may not have been processed'

/**
 * A member's requests until they settle. Each goes to the current hub; the hub says (`took`) up to
 * which one may have left for the server (taken while its connection had a line). When the hub's
 * tab closes, the rest are sent to the next hub, surely once; for those it took, nobody can tell
 * whether the server processed them, so they end as they would in a session the server lost:
 * publishes and calls reject SESSION_LOST (a channel's subscribe asks again on that code), while
 * unsubscribes and drains resolve (the next session starts with neither).
 */
export class TabRequests {
  #items = new Map<number, TabPending>()
  #nextId = 1
  /** The hub whose `took` is counted, and the last request id it took. */
  #hub: string | null = null
  #takenUpTo = 0

  /** Requests not settled yet. */
  get size(): number {
    return this.#items.size
  }

  /** Adds a request; returns it (to send) and its answer's promise. */
  add(request: TabPending['request'], timeoutMs: number | undefined): { pending: TabPending; promise: Promise<unknown> } {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs
    let pending!: TabPending
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = { id: this.#nextId++, request, resolve, reject, deadline, timeoutMs: timeoutMs ?? 0, hub: null, timer: undefined }
    })
    this.#items.set(pending.id, pending)
    // A timer per request that has a timeout (calls; publishes and subscribes have none): a tab
    // that shares makes few, and the hub's session keeps the one-timer scheme for the group.
    if (timeoutMs !== undefined) pending.timer = setTimeout(() => this.#expire(pending), timeoutMs)
    return { pending, promise }
  }

  /** The request as it goes out now. */
  static build(pending: TabPending): TabRequest {
    const r = pending.request
    return typeof r === 'function' ? { kind: 'frame', frame: r(0) as ClientDataFrame } : r
  }

  /** Time left before `pending`'s deadline, for the hub's own timer (undefined: none). */
  static remainingMs(pending: TabPending): number | undefined {
    return pending.deadline === Infinity ? undefined : Math.max(0, pending.deadline - Date.now())
  }

  /** True while request `id` waits for its answer. */
  has(id: number): boolean {
    return this.#items.has(id)
  }

  /** Settles request `id` (unless it timed out already). */
  settle(id: number, result: unknown, error: SwitchboardError | undefined): void {
    const pending = this.#items.get(id)
    if (!pending) return
    this.#items.delete(id)
    clearTimeout(pending.timer)
    if (error) pending.reject(error)
    else pending.resolve(result)
  }

  /** `hub` took this member's requests up to `id`. */
  taken(hub: string, id: number): void {
    if (hub === this.#hub && id > this.#takenUpTo) this.#takenUpTo = id
  }

  /**
   * `hub` leads now: the previous one's tab closed. Ends the requests it took (see the class) and
   * returns every other request, oldest first, to send to `hub`.
   */
  follow(hub: string): TabPending[] {
    const previous = this.#hub
    const takenUpTo = this.#takenUpTo
    this.#hub = hub
    this.#takenUpTo = 0
    const resend: TabPending[] = []
    for (const pending of [...this.#items.values()]) {
      if (previous === null || pending.hub !== previous || pending.id > takenUpTo) resend.push(pending)
      else {
        this.#items.delete(pending.id)
        clearTimeout(pending.timer)
        const type = TabRequests.build(pending)
        if (type.kind === 'drain' || (type.kind === 'frame' && type.frame[0] === FrameType.UNSUBSCRIBE)) pending.resolve(null)
        else pending.reject(new SwitchboardError('SESSION_LOST', LEADER_CLOSED))
      }
    }
    return resend
  }

  /** Rejects every request with `error` (the client closed). */
  rejectAll(error: SwitchboardError): void {
    const items = [...this.#items.values()]
    this.#items.clear()
    for (const pending of items) {
      clearTimeout(pending.timer)
      pending.reject(error)
    }
  }

  /** No answer in time: TIMEOUT (the hub's own timer, given the time left, usually fires first). */
  #expire(pending: TabPending): void {
    if (this.#items.delete(pending.id)) pending.reject(new SwitchboardError('TIMEOUT', `No reply within ${pending.timeoutMs} ms`))
  }
}
