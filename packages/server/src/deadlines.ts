/**
 * Waits that all last `timeoutMs` (a WebSocket's wait for its HELLO or its negotiation), oldest
 * first, checked by one timer for all of them instead of a timer each (a build without the timer
 * used 0.907x the server's CPU per connect; with this queue 0.951x, connect-ab, 8 pairs). A wait
 * that runs out is told `expire(item, ticket)` between `timeoutMs` and `timeoutMs + slackMs` after
 * it began; the timer fires at most once per `slackMs`. The holder keeps the ticket `add` gave:
 * `end(ticket)` lets its item go at once (a wait that ended must not hold a closed socket for
 * 10 s), and an expiry of any other ticket is one it ignores.
 */
export class Deadlines<T> {
  readonly #timeoutMs: number
  readonly #slackMs: number
  readonly #expire: (item: T, ticket: number) => void
  /** Waits from #head on, oldest first: the item, its ticket, when it runs out (ms). */
  #items: (T | undefined)[] = []
  #tickets: number[] = []
  #due: number[] = []
  #head = 0
  #ticket = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(timeoutMs: number, expire: (item: T, ticket: number) => void, slackMs = Math.ceil(timeoutMs / 10)) {
    this.#timeoutMs = timeoutMs
    this.#slackMs = slackMs
    this.#expire = expire
  }

  /** Waits in the queue, ended or not (until they are due). */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** Starts a wait for `item`; returns its ticket (a small positive integer, never 0). */
  add(item: T): number {
    // Wraps before leaving the small integers V8 keeps unboxed; a ticket that old is long expired.
    this.#ticket = this.#ticket >= 0x3fffffff ? 1 : this.#ticket + 1
    this.#items.push(item)
    this.#tickets.push(this.#ticket)
    this.#due.push(Date.now() + this.#timeoutMs)
    if (this.#timer === undefined) this.#arm()
    return this.#ticket
  }

  /** Ends wait `ticket` before it runs out: its item is let go now, and never told. */
  end(ticket: number): void {
    // Tickets are consecutive from the head's (but where they wrap, which the check below catches).
    const at = this.#head + ticket - (this.#tickets[this.#head] ?? 0)
    if (at >= this.#head && at < this.#items.length && this.#tickets[at] === ticket) this.#items[at] = undefined
  }

  #arm(): void {
    const wait = Math.max(this.#due[this.#head]! - Date.now(), this.#slackMs)
    this.#timer = setTimeout(Deadlines.#sweep, wait, this)
    // Never keeps a process alive (Node's timers are objects; elsewhere a number).
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  static #sweep<T>(d: Deadlines<T>): void {
    d.#timer = undefined
    const now = Date.now()
    const items = d.#items
    while (d.#head < items.length && d.#due[d.#head]! <= now) {
      const item = items[d.#head]
      const ticket = d.#tickets[d.#head]!
      items[d.#head++] = undefined
      if (item !== undefined) d.#expire(item, ticket)
    }
    if (d.#head === items.length) {
      d.#items = []
      d.#tickets = []
      d.#due = []
      d.#head = 0
      return
    }
    if (d.#head > 1024 && d.#head * 2 > items.length) {
      d.#items = items.slice(d.#head)
      d.#tickets = d.#tickets.slice(d.#head)
      d.#due = d.#due.slice(d.#head)
      d.#head = 0
    }
    // An expiry may have started a wait, and armed the timer for it.
    if (d.#timer === undefined) d.#arm()
  }
}
