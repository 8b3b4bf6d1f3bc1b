/**
 * A minimal typed event emitter: `on` returns its own `off`. Listener lists are copied on change,
 * not on emit, so an emit walks the list of the moment it started at no cost per event.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  #listeners: { [K in keyof Events]?: readonly ((payload: Events[K]) => void)[] } = {}

  /** Adds a listener; call the returned function to remove it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.listen(event, listener)
    return () => {
      const list = this.#listeners[event]
      // filter's result is grown by push (17 slots for one listener): kept as an exact-size copy.
      if (list) this.#listeners[event] = list.filter((l) => l !== listener).slice()
    }
  }

  /** Adds a listener for good: `on` without the function that removes it (for an owner that never does). */
  listen<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void {
    // Exact-size copies: a push would grow the array to 17 slots, and a client holds four lists.
    const list = this.#listeners[event]
    this.#listeners[event] = list === undefined ? [listener] : list.concat(listener)
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    const off = this.on(event, (payload) => {
      off()
      listener(payload)
    })
    return off
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.#listeners[event]
    if (!list) return
    for (let i = 0; i < list.length; i++) {
      const listener = list[i]!
      // Added during this emit: waits for the next one. Removed during it: not called (as in the DOM).
      const current = this.#listeners[event]
      if (current !== list && !current?.includes(listener)) continue
      try {
        listener(payload)
      } catch (e) {
        // A throwing listener must not break delivery to the others or the session.
        queueMicrotask(() => {
          throw e
        })
      }
    }
  }

  protected hasListeners(event: keyof Events): boolean {
    return (this.#listeners[event]?.length ?? 0) > 0
  }
}
