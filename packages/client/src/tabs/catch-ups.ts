/** A channel message as the hub passes it on: its data and offset. */
export type HeldMessage = [data: unknown, offset: number]

/**
 * The channels this tab is subscribing to through its hub. While a subscribe is on its way, the
 * channel's messages that reach the tab may be live messages of the session's subscription for
 * other tabs, from before this tab's own: they wait here until the answer says where this tab's
 * subscription starts (its floor, see SharedSubscribe), then go on in offset order, once, those
 * at or below the floor dropped. A tab with its own connection never sees such messages.
 */
export class CatchUps {
  #waiting = new Map<string, { id: number; held: HeldMessage[] }>()

  /** This tab sent subscribe `id` for `channel` (again, after a change of leader: what was held is dropped). */
  started(channel: string, id: number): void {
    this.#waiting.set(channel, { id, held: [] })
  }

  /** Holds a message of `channel` if a subscribe of it is on its way and `isPending(id)`; true when held. */
  hold(channel: string, message: HeldMessage, isPending: (id: number) => boolean): boolean {
    const waiting = this.#waiting.get(channel)
    if (!waiting) return false
    if (isPending(waiting.id)) return waiting.held.push(message) > 0
    this.#waiting.delete(channel)
    return false
  }

  /**
   * Request `id` was answered: passes the held messages of its channel after `floor` to `deliver`,
   * in offset order, each once (none when it was refused: floor Infinity).
   */
  answered(id: number, floor: number | undefined, deliver: (channel: string, data: unknown, offset: number) => void): void {
    for (const [channel, waiting] of this.#waiting) {
      if (waiting.id !== id) continue
      this.#waiting.delete(channel)
      const after = waiting.held.filter(([, offset]) => offset > (floor ?? 0)).sort((a, b) => a[1] - b[1])
      for (let i = 0; i < after.length; i++) if (i === 0 || after[i]![1] !== after[i - 1]![1]) deliver(channel, ...after[i]!)
      return
    }
  }
}
