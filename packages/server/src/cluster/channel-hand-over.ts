import type { Adapter, HistoryPage } from '../adapters/adapter.js'
import { readCatchUp } from '../catch-up.js'
import type { ChannelRegistry } from '../channels.js'
import type { Session } from '../session.js'

/** A channel and where its stream stands for one session: the last offset it had, and the epoch. */
export type ChannelPlace = [channel: string, offset: number, epoch: string]

/** How often the old node looks whether its subscriptions reached the new node's places. */
const CATCH_UP_POLL_MS = 2

/**
 * The channels of a session that moves between nodes, so that nothing published meanwhile is
 * lost, doubled or reordered, with or without history:
 * 1. the new node joins the session's channels (live messages held from then on) and reads where
 *    each stands (`prepare`);
 * 2. the old node waits until its own subscriptions have had everything up to those places
 *    (`reach`), then hands over where each stands (`placesOf`) and leaves;
 * 3. the new node opens each subscription from the old node's place (`resume`): every later
 *    message is among those it held since step 1. Only a channel the session subscribed to during
 *    the move, or a place the old node did not reach in time, is read from history.
 */
export class ChannelHandOver {
  #registry: ChannelRegistry
  #adapter: Adapter

  constructor(registry: ChannelRegistry, adapter: Adapter) {
    this.#registry = registry
    this.#adapter = adapter
  }

  /** The channels `session` subscribes to on this node. */
  channelsOf(session: Session): string[] {
    return [...this.#registry.channelsOf(session)]
  }

  /** Where each open subscription of `session` stands. */
  placesOf(session: Session): ChannelPlace[] {
    const places: ChannelPlace[] = []
    for (const channel of this.#registry.channelsOf(session)) {
      const position = this.#registry.subscriptionOf(channel, session)?.position
      if (position) places.push([channel, position[0], position[1]])
    }
    return places
  }

  /** On the new node: joins `channels` for `session`, holding live messages, and reads where each stands. */
  prepare(session: Session, channels: readonly string[]): Promise<ChannelPlace[]> {
    return Promise.all(
      channels
        .filter((channel) => this.#registry.match(channel) !== undefined)
        .map(async (channel): Promise<ChannelPlace> => {
          this.#registry.join(channel, session)
          await this.#registry.ready(channel)
          const { offset, epoch } = await this.#adapter.position(channel)
          return [channel, offset, epoch]
        }),
    )
  }

  /** On the old node: waits, at most `timeoutMs`, until each subscription has had the messages up to `places`. */
  async reach(session: Session, places: readonly ChannelPlace[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // Only a live subscription gets there by itself; one behind its channel is read from history anyway.
    const behind = () =>
      places.some(([channel, offset, epoch]) => {
        const subscription = this.#registry.subscriptionOf(channel, session)
        const position = subscription?.position
        return subscription?.state === 'live' && position != null && position[1] === epoch && position[0] < offset
      })
    while (behind() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS))
  }

  /**
   * On the new node: opens each subscription of `session` from where the old node left it
   * (`from`), `prepared` being what `prepare` read. Channels prepared and not in `from` (left
   * meanwhile) are left. Resolves to the channels whose messages in between history no longer held.
   */
  async resume(session: Session, from: readonly ChannelPlace[], prepared: readonly ChannelPlace[]): Promise<string[]> {
    const marks = new Map(prepared.map((place) => [place[0], place]))
    const lost: string[] = []
    await Promise.all(
      from.map(async ([channel, offset, epoch]) => {
        const subscription = this.#registry.join(channel, session)
        const mark = marks.get(channel)
        marks.delete(channel)
        let page: HistoryPage
        // Every message after `offset` came live since the prepared join: nothing to read.
        if (mark !== undefined && mark[2] === epoch && offset >= mark[1]) page = { offset, epoch, messages: [] }
        else {
          await this.#registry.ready(channel)
          page = await readCatchUp(this.#adapter, channel, [offset, epoch], 0)
        }
        if (!subscription.closed && !subscription.open([offset, epoch], page).recovered) lost.push(channel)
      }),
    )
    for (const channel of marks.keys()) this.#registry.leave(channel, session)
    return lost
  }

  /** Leaves every channel of `session` on this node (it moved away, or its arrival failed). */
  leaveAll(session: Session): void {
    this.#registry.removeAll(session)
  }
}
