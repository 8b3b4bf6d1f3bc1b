/** A minimal typed event emitter: `on` returns its own `off`. */
export class Emitter<Events extends Record<string, unknown>> {
  #listeners: { [K in keyof Events]?: Set<(payload: Events[K]) => void> } = {}

  /** Adds a listener; call the returned function to remove it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    const set = (this.#listeners[event] ??= new Set())
    set.add(listener)
    return () => set.delete(listener)
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
    const set = this.#listeners[event]
    if (!set) return
    for (const listener of set) {
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
    return (this.#listeners[event]?.size ?? 0) > 0
  }
}
