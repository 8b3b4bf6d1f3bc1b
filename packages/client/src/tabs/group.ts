import type { TransportName } from '@switchboard/protocol'
import type { TabEnvironment } from './environment.js'

/** What decides which tabs share: the same mount URL, transports, headers (tokens) and app scope. */
export interface GroupKeyParts {
  url: string
  transports: readonly TransportName[]
  headers: Record<string, string>
  /** The app's own word on who may share (a user id, say), or null. */
  scope: string | null
}

/** The lock and channel names of one group of tabs. */
export interface GroupNames {
  /** Held by the tab whose connection the group shares. */
  leader: string
  /** Members -> hub. */
  up: string
  /** Hub -> members. */
  down: string
  /** Held by each member while it lives. */
  member(id: string): string
}

/**
 * The group's names: a digest of everything that must match for two tabs to share, so tabs of
 * different users (different tokens or scopes) never meet, and no token appears in a lock or
 * channel name (`navigator.locks.query()` lists them). Header names are case-insensitive.
 */
export async function groupNames(env: TabEnvironment, parts: GroupKeyParts): Promise<GroupNames> {
  const headers = Object.entries(parts.headers)
    .map(([name, value]) => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
  const key = await env.digest(JSON.stringify([parts.url, parts.transports, headers, parts.scope]))
  const base = `switchboard:tabs:${key.slice(0, 32)}`
  return { leader: base, up: `${base}:up`, down: `${base}:down`, member: (id) => `${base}:member:${id}` }
}

/** An id for a member or a hub: 128 random bits, so two tabs never pick the same lock name. */
export function randomId(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let id = ''
  for (const byte of bytes) id += byte.toString(36).padStart(2, '0')
  return id
}
