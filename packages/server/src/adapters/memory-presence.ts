import type { PresenceMember, PresenceStore } from './adapter.js'
import { ExpiringMap } from './expiring-map.js'

/** Presence for one node: members per channel, each expiring on its own unless added again. */
export class MemoryPresence implements PresenceStore {
  #channels = new Map<string, ExpiringMap<string, string>>()

  add(channel: string, member: string, infoJson: string, ttlMs: number): void {
    let members = this.#channels.get(channel)
    if (members === undefined) this.#channels.set(channel, (members = new ExpiringMap()))
    members.set(member, infoJson, ttlMs)
  }

  remove(channel: string, member: string): void {
    const members = this.#channels.get(channel)
    if (members === undefined) return
    members.delete(member)
    if (members.size === 0) this.#channels.delete(channel)
  }

  list(channel: string): PresenceMember[] {
    const members = this.#channels.get(channel)
    const list: PresenceMember[] = []
    if (members === undefined) return list
    for (const [member, infoJson] of members.entries()) list.push({ member, infoJson })
    // Every member expired: the channel's map goes too, so abandoned channels do not pile up.
    if (list.length === 0) this.#channels.delete(channel)
    return list
  }

  clear(): void {
    this.#channels.clear()
  }
}
