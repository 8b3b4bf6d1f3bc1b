/**
 * Requests waiting for their reply, by seq. Seqs are added in increasing order and taken in any
 * order, so they live in an array from the oldest one still waiting: no Map, whose table V8
 * reallocates on the delete that empties it (one request in flight at a time: every call), a
 * measured tenth of the client's own CPU per call.
 */
export class PendingRequests<T> {
  /** Settled slots are undefined. */
  #items: (T | undefined)[] = []
  /** Index of the oldest slot that may still be waiting. */
  #head = 0
  /** The seq of slot 0: slot i holds seq #base + i. */
  #base = 0
  #size = 0

  /** Requests waiting. */
  get size(): number {
    return this.#size
  }

  /** Adds the request `seq`, greater than every seq added before (throws otherwise). */
  add(seq: number, item: T): void {
    if (this.#size === 0) {
      // Empty: the array is reused from its end (no allocation per request).
      this.#head = this.#items.length
      this.#base = seq - this.#head
    }
    const at = seq - this.#base
    if (at < this.#items.length) throw new RangeError(`seq ${seq} is not after the last one added`)
    this.#items[at] = item
    this.#size++
  }

  /** Removes the request `seq` and returns it, or undefined when it is not waiting. */
  take(seq: number): T | undefined {
    const at = seq - this.#base
    if (at < this.#head || at >= this.#items.length) return undefined
    const item = this.#items[at]
    if (item === undefined) return undefined
    this.#items[at] = undefined
    this.#size--
    // Move the head past settled slots; the array is cut once mostly settled slots.
    while (this.#head < this.#items.length && this.#items[this.#head] === undefined) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
    return item
  }

  /** Every waiting request with its seq, oldest first: a copy (for the rare paths: timeouts, reset). */
  entries(): [number, T][] {
    const list: [number, T][] = []
    for (let at = this.#head; at < this.#items.length; at++) {
      const item = this.#items[at]
      if (item !== undefined) list.push([this.#base + at, item])
    }
    return list
  }

  clear(): void {
    this.#items = []
    this.#head = 0
    this.#size = 0
  }
}
