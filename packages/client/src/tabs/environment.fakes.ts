// For tests in Node 20, which has BroadcastChannel (between any two objects of one process) but no
// Web Locks: an in-process stand-in with the semantics the tabs rely on (exclusive locks granted in
// request order, held until the callback's promise settles, a request withdrawn by its signal).
import { createHash } from 'node:crypto'
import type { TabChannelConstructor, TabEnvironment, TabLocks } from './environment.js'

interface Waiter {
  grant(): void
  signal?: AbortSignal
}

export class FakeLocks implements TabLocks {
  #held = new Set<string>()
  #queues = new Map<string, Waiter[]>()

  /** Names held now. */
  get held(): string[] {
    return [...this.#held]
  }

  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = options.signal
      if (signal?.aborted) return reject(signal.reason)
      const waiter: Waiter = {
        signal,
        grant: () => {
          this.#held.add(name)
          Promise.resolve()
            .then(() => callback({ name }))
            .then(resolve, reject)
            .finally(() => this.#release(name))
        },
      }
      signal?.addEventListener('abort', () => {
        const queue = this.#queues.get(name)
        const at = queue?.indexOf(waiter) ?? -1
        if (at === -1) return
        queue!.splice(at, 1)
        reject(signal.reason)
      })
      if (!this.#held.has(name)) return waiter.grant()
      let queue = this.#queues.get(name)
      if (!queue) this.#queues.set(name, (queue = []))
      queue.push(waiter)
    })
  }

  #release(name: string): void {
    this.#held.delete(name)
    const next = this.#queues.get(name)?.shift()
    if (next) next.grant()
    else this.#queues.delete(name)
  }
}

/** Node's own BroadcastChannel and SHA-256 with `locks`. */
export function fakeTabEnvironment(locks: TabLocks): TabEnvironment {
  return {
    locks,
    BroadcastChannel: globalThis.BroadcastChannel as unknown as TabChannelConstructor,
    digest: async (text) => createHash('sha256').update(text).digest('hex'),
  }
}
