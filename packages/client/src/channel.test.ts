import { describe, expect, it } from 'vitest'
import { Channel, type ChannelMessage, type Subscribed } from './channel.js'
import type { ClientSession } from './session.js'

/** A channel whose subscribe the server answers at once with `answer`. */
async function subscribed(answer: Subscribed) {
  const session = { request: async () => answer } as unknown as ClientSession
  const channel = new Channel<number>('feed:1', { session })
  const messages: ChannelMessage<number>[] = []
  const events: Subscribed[] = []
  channel.on('message', (m) => messages.push(m))
  channel.on('subscribed', (e) => events.push(e))
  await channel.subscribe()
  return { channel, messages, events }
}

describe('Channel, a subscriber that fell behind', () => {
  it('reports a GAP as a resubscribe reports what it missed, and moves its position past it', async () => {
    const { channel, messages, events } = await subscribed({ offset: 3, epoch: 'e1', recovered: true })
    channel.deliver(4, 4)
    channel.gap(5, 9)
    channel.deliver(10, 10)
    expect(messages.map((m) => m.offset)).toEqual([4, 10])
    expect(events.slice(1)).toEqual([{ offset: 9, epoch: 'e1', recovered: false, missing: { from: 5, to: 9 } }])
    expect(channel.offset).toBe(10)
  })

  it('ignores a GAP it already knows of, and one that comes while it is not subscribed', async () => {
    const { channel, events } = await subscribed({ offset: 3, epoch: 'e1', recovered: true })
    channel.deliver(4, 4)
    channel.gap(2, 4)
    expect(events).toHaveLength(1)
    await channel.unsubscribe()
    channel.gap(5, 9)
    expect(events).toHaveLength(1)
  })

  it('hands a message’s skipped count to the app, and leaves it out when there is none', async () => {
    const { channel, messages } = await subscribed({ offset: 0, epoch: 'e1', recovered: true })
    channel.deliver(1, 1)
    channel.deliver(9, 9, 7)
    expect(messages).toEqual([
      { channel: 'feed:1', data: 1, offset: 1 },
      { channel: 'feed:1', data: 9, offset: 9, skipped: 7 },
    ])
  })
})
