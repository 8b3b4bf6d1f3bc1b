// What sharing one connection between tabs needs from the platform, declared here in its smallest
// form (as transports/transport.ts declares WebSocketLike): no DOM type reaches the Node build.

/** The part of BroadcastChannel the tabs use. */
export interface TabChannel {
  postMessage(message: unknown): void
  onmessage: ((event: { data: unknown }) => void) | null
  close(): void
}

export type TabChannelConstructor = new (name: string) => TabChannel

/** The part of the Web Locks API (`navigator.locks`) the tabs use: exclusive locks, granted in request order. */
export interface TabLocks {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown>
}

/** Everything a tab needs to share a connection: locks, a channel between tabs, and a digest. */
export interface TabEnvironment {
  locks: TabLocks
  BroadcastChannel: TabChannelConstructor
  /** SHA-256 of `text`, hex. Names a group of tabs without putting a token into a lock or channel name. */
  digest(text: string): Promise<string>
}

interface PlatformGlobals {
  navigator?: { locks?: TabLocks }
  BroadcastChannel?: TabChannelConstructor
  crypto?: { subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } }
  document?: unknown
}

/**
 * The platform's own environment, or null where a part is missing: Web Locks exist only in secure
 * contexts (https, or http on localhost) and not in Node 20; WebKit before Safari 15.4 has neither.
 */
export function platformTabEnvironment(): TabEnvironment | null {
  const g = globalThis as PlatformGlobals
  const locks = g.navigator?.locks
  const subtle = g.crypto?.subtle
  if (!locks || typeof locks.request !== 'function' || typeof g.BroadcastChannel !== 'function' || typeof subtle?.digest !== 'function') return null
  return {
    locks,
    BroadcastChannel: g.BroadcastChannel,
    async digest(text) {
      const hash = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)))
      let hex = ''
      for (const byte of hash) hex += byte.toString(16).padStart(2, '0')
      return hex
    },
  }
}

/** True in a page (a document exists): where sharing is on unless the app says otherwise. */
export function inPage(): boolean {
  return typeof (globalThis as PlatformGlobals).document !== 'undefined'
}
