import { TRANSPORTS, type TransportName } from '@switchboard/protocol'

/** Where the transport that last worked for an origin is kept: localStorage in browsers, memory elsewhere. */
export interface TransportMemory {
  get(key: string): TransportName | null
  set(key: string, transport: TransportName): void
}

const inProcess = new Map<string, string>()

function storage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  try {
    const ls = (globalThis as { localStorage?: Storage }).localStorage
    if (ls) {
      ls.getItem('switchboard:probe') // throws where storage is blocked (sandboxed frames, some private modes)
      return ls
    }
  } catch {
    // fall through to memory
  }
  return {
    getItem: (k) => inProcess.get(k) ?? null,
    setItem: (k, v) => void inProcess.set(k, v),
    removeItem: (k) => void inProcess.delete(k),
  }
}

/** Remembers the last transport that worked, per key (the server URL), for `ttlMs`. */
export function createTransportMemory(ttlMs: number): TransportMemory {
  const store = storage()
  const keyOf = (key: string) => `switchboard:transport:${key}`
  return {
    get(key) {
      try {
        const raw = store.getItem(keyOf(key))
        if (!raw) return null
        const { transport, until } = JSON.parse(raw) as { transport?: unknown; until?: unknown }
        if (typeof until !== 'number' || until < Date.now() || !TRANSPORTS.includes(transport as TransportName)) {
          store.removeItem(keyOf(key))
          return null
        }
        return transport as TransportName
      } catch {
        return null
      }
    },
    set(key, transport) {
      try {
        store.setItem(keyOf(key), JSON.stringify({ transport, until: Date.now() + ttlMs }))
      } catch {
        // storage full or blocked: remembering is an optimisation only
      }
    },
  }
}
