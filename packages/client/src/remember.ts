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

/** One memory per ttl, shared by every client of the page or process (they share the storage too). */
const memories = new Map<number, TransportMemory>()

/**
 * Remembers the last transport that worked, per key (the server URL), for `ttlMs`. A transport
 * written for a key less than a hundredth of `ttlMs` ago is not written again: 10,000 clients of
 * one server that connect at once write once, and a browser's synchronous storage is spared the rest.
 */
export function createTransportMemory(ttlMs: number): TransportMemory {
  let memory = memories.get(ttlMs)
  if (memory === undefined) memories.set(ttlMs, (memory = makeTransportMemory(ttlMs)))
  return memory
}

function makeTransportMemory(ttlMs: number): TransportMemory {
  const store = storage()
  const keyOf = (key: string) => `switchboard:transport:${key}`
  /** What this memory last wrote for each key, and when. */
  const written = new Map<string, { transport: TransportName; at: number }>()
  /** The entry read last, and what it parsed to. */
  let lastRead: [string, unknown] = ['', null]
  return {
    get(key) {
      try {
        const raw = store.getItem(keyOf(key))
        if (!raw) return null
        // Clients of one server made together read the same entry: it is parsed once.
        if (raw !== lastRead[0]) lastRead = [raw, JSON.parse(raw)]
        const { transport, until } = lastRead[1] as { transport?: unknown; until?: unknown }
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
      const now = Date.now()
      const last = written.get(key)
      if (last?.transport === transport && now - last.at < ttlMs / 100) return
      try {
        store.setItem(keyOf(key), JSON.stringify({ transport, until: now + ttlMs }))
        written.set(key, { transport, at: now })
      } catch {
        // storage full or blocked: remembering is an optimisation only
      }
    },
  }
}
