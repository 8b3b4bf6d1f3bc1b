import { REPLAY_BUFFER_BYTES, REPLAY_BUFFER_FRAMES, type ReplayBuffer } from '@switchboard/protocol'

/**
 * What a channel does for a subscriber that cannot keep up with it: a message finds the session's
 * replay buffer full (the client has not acked what it was sent).
 * - `catch-up`: stop queueing the channel's messages for that session, and once acks make room,
 *   send what it missed from history, then go live again: nothing lost, doubled or reordered; what
 *   history no longer holds is named to the client (a GAP frame, the `missing` of a `subscribed`).
 * - `latest`: only the newest message waits for room (it replaces older waiting ones); the client
 *   sees it marked with how many it replaced. For prices, scores, positions.
 * - `end`: the session ends with SLOW_CONSUMER; the client starts a new one at once and
 *   resubscribes with `since`.
 */
export type SlowConsumerPolicy = 'catch-up' | 'latest' | 'end'

/** Every policy, for checking a channel's options. */
export const SLOW_CONSUMER_POLICIES: readonly SlowConsumerPolicy[] = ['catch-up', 'latest', 'end']

/** What a session calls when acks have made room again (see Session.waitForRoom). */
export interface RoomWaiter {
  onRoom(): void
}

/**
 * Live messages a subscription holds while a history read is in flight, at most (count, and
 * bytes of body): a default replay buffer's worth. Past it, the channel's policy applies as if
 * the buffer were full, so a history read that never answers costs a bounded amount.
 */
export const MAX_HELD_MESSAGES = REPLAY_BUFFER_FRAMES
export const MAX_HELD_BYTES = REPLAY_BUFFER_BYTES

/**
 * Acks have brought the buffer under a quarter of its bound, frames and bytes: stalled channels
 * may go on. The same mark at which a session takes paced requests again (Inbound), so a
 * flooding channel that fills the buffer again leaves the session's requests their turn.
 */
export function hasRoomAgain(out: ReplayBuffer): boolean {
  return out.size * 4 < out.maxFrames && out.bytes * 4 < out.maxBytes
}

/** Checks a channel's `slowConsumer` option at declaration (a typo must not fall back silently). */
export function assertPolicy(policy: unknown): asserts policy is SlowConsumerPolicy | undefined {
  if (policy !== undefined && !SLOW_CONSUMER_POLICIES.includes(policy as SlowConsumerPolicy))
    throw new TypeError(`slowConsumer must be one of ${SLOW_CONSUMER_POLICIES.join(', ')}; got ${JSON.stringify(policy)}`)
}
