import { type ClientState, NEXT } from '../state.js'

/**
 * The shortest walk through the legal transitions from `from` to `to` (the states after `from`),
 * or [] when already there or `to` cannot be reached. A follower tab mirrors its leader's state
 * this way, so its own `state` events keep to the same table as a tab with its own connection:
 * when the leader's tab closes, an open follower goes open -> backoff -> connecting -> open.
 */
export function pathTo(from: ClientState, to: ClientState): ClientState[] {
  if (from === to) return []
  const cameFrom = new Map<ClientState, ClientState>([[from, from]])
  const queue: ClientState[] = [from]
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!
    for (const next of NEXT[at] as readonly ClientState[]) {
      if (cameFrom.has(next)) continue
      cameFrom.set(next, at)
      if (next === to) {
        const path: ClientState[] = [to]
        for (let s = at; s !== from; s = cameFrom.get(s)!) path.unshift(s)
        return path
      }
      queue.push(next)
    }
  }
  return []
}
