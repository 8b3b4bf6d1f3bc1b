// What the cross-node scenarios send, built the same way by a client publisher and by a node's
// server-side one: `{ i, t, d }`, `t` the publish time on CLOCK_MONOTONIC in µs, which every
// process on the machine shares, so a receiver in another process times the delivery.
import { makePool } from '../driver/payload.mjs'
import { monoUs } from '../driver/pool.mjs'

export const FANOUT = 'xnode:fanout'
export const ASK = 'xnode:ask'
export const ANSWER = 'xnode:answer'

const pools = new Map()
const poolOf = (size) => pools.get(size) ?? pools.set(size, makePool(size)).get(size)

/** Message `i` of `size` bytes, stamped now. */
export const messageAt = (size, i) => ({ i, t: monoUs(), d: poolOf(size).at(i) })

/** Milliseconds since `m` was stamped. */
export const ageMs = (m) => (monoUs() - m.t) / 1000

/**
 * The request a node answers for a server-side publisher (see ../servers/harness.mjs `requests`):
 * `count` messages from `base` on `channel`, all sent at once; `publish(channel, msg)` is the
 * library's own server-side publish. Answers once they are sent, not delivered.
 */
export const publishRequest =
  (publish) =>
  ({ channel, size, base, count }) => {
    for (let i = base; i < base + count; i++) publish(channel, messageAt(size, i))
    return { sent: count }
  }
