import { FrameType, SwitchboardError, type StreamPosition, type SubscribeFrame, type UnsubscribeFrame } from '@switchboard/protocol'
import type { Subscribed } from '../channel.js'
import type { SessionLike } from './member.js'

/** A tab's subscribe, answered: the server's answer, and the offset after which this tab's messages start. */
export interface SharedSubscribe {
  result: Subscribed
  /**
   * The tab drops the channel's messages at or below it that reached it while its subscribe was on
   * its way: live messages of the session's subscription for other tabs, from before its own.
   */
  floor: number
}

/**
 * The channels the hub's session subscribes for its tabs: which tabs hold each one (the session
 * unsubscribes when the last lets go), and where each live stream stands, so a tab that subscribes
 * to a channel the session already carries asks the server for exactly its own catch-up:
 * - with `since`, as it asked (its floor is `since`);
 * - otherwise with `since` = the stream's position as the hub has passed it on, less `recent`
 *   (its floor), the answer then reported as a newcomer's (recovered).
 * One subscribe per channel is on the wire at a time, so that position is known when the next leaves.
 */
export class SharedChannels {
  #session: SessionLike
  #holders = new Map<string, Set<string>>()
  /** Where each subscribed channel's stream stands: its last offset passed on to the tabs, and its epoch. */
  #live = new Map<string, StreamPosition>()
  /** The subscribe of each channel on the wire now. */
  #busy = new Map<string, Promise<unknown>>()

  constructor(session: SessionLike) {
    this.#session = session
  }

  /**
   * The answer to pass on now: its offset raised to where the stream stands. The messages of the
   * session's batch that came after the answer were passed on before it (an answer settles a
   * promise, a message goes at once), and the tab's channel, which has them, would otherwise take
   * them again from the next tab's catch-up.
   */
  answer(channel: string, subscribed: SharedSubscribe): SharedSubscribe {
    const live = this.#live.get(channel)
    const result = subscribed.result
    if (!live || live[1] !== result.epoch || live[0] <= result.offset) return subscribed
    return { ...subscribed, result: { ...result, offset: live[0] } }
  }

  /** A message of `channel` was passed on to the tabs. */
  delivered(channel: string, offset: number): void {
    const live = this.#live.get(channel)
    if (live && offset > live[0]) live[0] = offset
  }

  /** The session is a new one: the server holds none of its subscriptions (the tabs subscribe again). */
  sessionLost(): void {
    this.#live.clear()
  }

  subscribe(member: string, frame: SubscribeFrame, timeoutMs: number | undefined): Promise<SharedSubscribe> {
    const channel = frame[2]
    let holders = this.#holders.get(channel)
    if (!holders) this.#holders.set(channel, (holders = new Set()))
    holders.add(member)
    const attempt = (this.#busy.get(channel) ?? Promise.resolve()).then(
      () => this.#subscribeNow(member, frame, timeoutMs),
      () => this.#subscribeNow(member, frame, timeoutMs),
    )
    this.#busy.set(channel, attempt)
    attempt.then(
      () => this.#busy.get(channel) === attempt && this.#busy.delete(channel),
      (e: unknown) => {
        if (this.#busy.get(channel) === attempt) this.#busy.delete(channel)
        // Refused, or the client closed: that tab does not hold it. A lost session makes its channel ask again.
        if (!(e instanceof SwitchboardError && e.code === 'SESSION_LOST')) this.#release(channel, member)
      },
    )
    return attempt
  }

  /** `member` lets go of the channel; the session unsubscribes only when nobody holds it any more. */
  unsubscribe(member: string, frame: UnsubscribeFrame, timeoutMs: number | undefined): Promise<unknown> {
    if (!this.#release(frame[2], member)) return Promise.resolve(null)
    return this.#session.request((seq) => [FrameType.UNSUBSCRIBE, seq, frame[2]], timeoutMs)
  }

  /** `member` is gone (closed, or its tab did): the channels only it held are unsubscribed. */
  forget(member: string): void {
    for (const channel of [...this.#holders.keys()]) {
      if (!this.#release(channel, member)) continue
      try {
        this.#session.request((seq) => [FrameType.UNSUBSCRIBE, seq, channel]).catch(() => {})
      } catch {
        // closed: nothing is subscribed any more
      }
    }
  }

  async #subscribeNow(member: string, frame: SubscribeFrame, timeoutMs: number | undefined): Promise<SharedSubscribe> {
    const [, , channel, since, recent = 0] = frame
    // Unsubscribed while it waited its turn: it must not leave (its channel takes no answer now).
    if (!this.#holders.get(channel)?.has(member)) throw new SwitchboardError('CLOSED', `Unsubscribed from ${channel} before the subscribe left`)
    const live = this.#live.get(channel)
    const from: StreamPosition | null = since ?? (live ? [Math.max(0, live[0] - recent), live[1]] : null)
    const result = (await this.#session.request(
      (seq) => (from === null ? [FrameType.SUBSCRIBE, seq, channel, null, recent] : [FrameType.SUBSCRIBE, seq, channel, from]),
      timeoutMs,
    )) as Subscribed
    if (this.#holders.has(channel)) {
      const known = this.#live.get(channel)
      this.#live.set(channel, [known && known[1] === result.epoch ? Math.max(known[0], result.offset) : result.offset, result.epoch])
    }
    if (since === null && from !== null) return { result: { offset: result.offset, epoch: result.epoch, recovered: true }, floor: from[0] }
    return { result, floor: from !== null && from[1] === result.epoch ? from[0] : 0 }
  }

  /** `member` lets go of `channel`; true when nobody holds it any more (its stream is no longer followed). */
  #release(channel: string, member: string): boolean {
    const holders = this.#holders.get(channel)
    if (!holders?.delete(member) || holders.size > 0) return false
    this.#holders.delete(channel)
    this.#live.delete(channel)
    return true
  }
}
