import { randomUUID } from 'node:crypto'
import { encodeData, joinMessageBody } from '@switchboard/protocol'
import { SwitchboardError, type Adapter } from '@switchboard/server'
import { afterEach, describe, expect, it, vi } from 'vitest'

/** How a conformance run makes and breaks the adapter under test. */
export interface AdapterHarness {
  /** A new adapter, not started. Adapters made by one harness may share a backend: channel names never repeat. */
  create(options: { idempotencyWindowMs: number }): Adapter | Promise<Adapter>
  /** Loses the history of every channel (a restart, a flush); resolves to the adapter to use from then on. */
  loseHistory(adapter: Adapter): Adapter | Promise<Adapter>
  /** True when the adapter delivers only the channels its node subscribed to, as a broker adapter must. */
  filtersByInterest: boolean
  /**
   * True when the adapters `create` makes are nodes of one cluster (they share a broker): what one
   * node publishes, leases or forwards, the others see. Runs the tests across nodes.
   */
  sharesBackend?: boolean
}

interface Delivery {
  channel: string
  offset: number
  epoch: string
  body: string
}

/** A started adapter and what it reported. */
interface Node {
  adapter: Adapter
  received: Delivery[]
  /** How this node answers forwarded requests. */
  answer: (request: string) => string | Promise<string>
}

const LONG_MS = 60_000

/**
 * Registers the Adapter contract's tests (docs/adapter.md) for one adapter. They use the public
 * interface only, wait on conditions rather than sleeping, and run as well against a broker
 * with real latency.
 */
export function describeAdapterConformance(name: string, harness: AdapterHarness): void {
  describe(`${name} keeps the Adapter contract`, () => {
    const opened: Adapter[] = []
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((adapter) => adapter.close()))
    })

    async function open(idempotencyWindowMs = LONG_MS): Promise<Node> {
      const adapter = await harness.create({ idempotencyWindowMs })
      opened.push(adapter)
      const node: Node = { adapter, received: [], answer: (request) => `answer to ${request}` }
      await adapter.start({
        onMessage: (channel, offset, epoch, body) => node.received.push({ channel, offset, epoch, body }),
        onForward: (request) => node.answer(request),
      })
      return node
    }
    const fresh = (label: string) => `${label}:${randomUUID()}`
    const offsetsOf = (node: Node, channel: string) => node.received.filter((d) => d.channel === channel).map((d) => d.offset)
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
    async function publishMany(adapter: Adapter, channel: string, count: number, historySize: number) {
      return Promise.all(range(1, count).map((n) => adapter.publish(channel, encodeData({ n }), historySize)))
    }

    describe('offsets and delivery', () => {
      it('numbers each channel 1, 2, 3… without a gap, even when publishes overlap', async () => {
        const { adapter } = await open()
        const [a, b] = [fresh('a'), fresh('b')]
        const offsets = await Promise.all([publishMany(adapter, a, 30, 0), publishMany(adapter, b, 20, 0)])
        expect(offsets.map((o) => [...o].sort((x, y) => x - y))).toEqual([range(1, 30), range(1, 20)])
        expect((await adapter.position(a)).offset).toBe(30)
        expect((await adapter.position(b)).offset).toBe(20)
      })

      it('delivers a subscribed channel once per message, in offset order, with its body built by joinMessageBody', async () => {
        const node = await open()
        const channel = fresh('room')
        await node.adapter.subscribe(channel)
        const offsets = await publishMany(node.adapter, channel, 20, 0)
        await vi.waitFor(() => expect(node.received).toHaveLength(20))
        const { epoch } = await node.adapter.position(channel)
        // publishMany sent { n } as message n: whatever offset it got, its body says so.
        const expected = offsets
          .map((offset, i) => ({ channel, offset, epoch, body: joinMessageBody(channel, encodeData({ n: i + 1 }), offset) }))
          .sort((x, y) => x.offset - y.offset)
        expect(node.received).toEqual(expected)
      })

      it('reports offset 0 and an epoch for a channel never published to', async () => {
        const { adapter } = await open()
        const channel = fresh('never')
        const position = await adapter.position(channel)
        expect(position.offset).toBe(0)
        expect(position.epoch).toEqual(expect.any(String))
        expect(await adapter.history(channel, 0)).toEqual({ ...position, messages: [] })
        expect(await adapter.recent(channel, 5)).toEqual({ ...position, messages: [] })
      })

      it.runIf(harness.filtersByInterest)('delivers only the channels this node subscribed to, from subscribe to unsubscribe', async () => {
        const node = await open()
        const [wanted, other] = [fresh('wanted'), fresh('other')]
        await node.adapter.subscribe(wanted)
        await node.adapter.publish(other, '1', 0)
        await node.adapter.publish(wanted, '1', 0)
        await vi.waitFor(() => expect(offsetsOf(node, wanted)).toEqual([1]))
        await node.adapter.unsubscribe(wanted)
        await node.adapter.publish(wanted, '2', 0)
        await node.adapter.subscribe(other)
        await node.adapter.publish(other, '2', 0)
        // Delivered in order on one node: once other's 2 is in, wanted's 2 would have been too.
        await vi.waitFor(() => expect(offsetsOf(node, other)).toEqual([2]))
        expect(offsetsOf(node, wanted)).toEqual([1])
      })
    })

    describe('history', () => {
      it('replays the messages after `since` that history holds, with the position, within bounds', async () => {
        const node = await open()
        const channel = fresh('history')
        await node.adapter.subscribe(channel)
        for (let n = 1; n <= 10; n++) await node.adapter.publish(channel, encodeData({ n }), 4)
        await vi.waitFor(() => expect(node.received).toHaveLength(10))
        const { epoch } = await node.adapter.position(channel)
        const kept = (from: number) => node.received.slice(from - 1).map(({ offset, body }) => ({ offset, body }))
        expect(await node.adapter.history(channel, 0)).toEqual({ offset: 10, epoch, messages: kept(7) })
        expect((await node.adapter.history(channel, 8)).messages).toEqual(kept(9))
        expect((await node.adapter.history(channel, 10)).messages).toEqual([])
        expect((await node.adapter.history(channel, 25)).messages).toEqual([])
      })

      it('returns the last `limit` messages, all it holds when it holds fewer, none for 0', async () => {
        const { adapter } = await open()
        const channel = fresh('recent')
        await publishMany(adapter, channel, 10, 4)
        const offsets = async (limit: number) => (await adapter.recent(channel, limit)).messages.map((m) => m.offset)
        expect(await offsets(2)).toEqual([9, 10])
        expect(await offsets(100)).toEqual([7, 8, 9, 10])
        expect(await offsets(0)).toEqual([])
        expect((await adapter.recent(channel, 2)).offset).toBe(10)
      })

      it('keeps nothing with historySize 0 yet keeps counting, and keeps channels apart', async () => {
        const { adapter } = await open()
        const [none, some] = [fresh('none'), fresh('some')]
        await publishMany(adapter, none, 3, 0)
        await publishMany(adapter, some, 2, 5)
        expect(await adapter.history(none, 0)).toMatchObject({ offset: 3, messages: [] })
        expect((await adapter.history(some, 0)).messages.map((m) => m.offset)).toEqual([1, 2])
      })
    })

    describe('epochs', () => {
      it('keeps a channel’s epoch while its history lasts', async () => {
        const { adapter } = await open()
        const channel = fresh('epoch')
        await adapter.publish(channel, '1', 5)
        const { epoch } = await adapter.position(channel)
        await publishMany(adapter, channel, 5, 5)
        expect((await adapter.position(channel)).epoch).toBe(epoch)
        expect((await adapter.history(channel, 0)).epoch).toBe(epoch)
      })

      it('starts a new epoch, numbering from 1 again, when history is lost', async () => {
        const { adapter } = await open()
        const channel = fresh('lost')
        await publishMany(adapter, channel, 3, 5)
        const before = await adapter.position(channel)
        const after = await harness.loseHistory(adapter)
        if (after !== adapter) opened.push(after)
        expect(await after.publish(channel, '"new"', 5)).toBe(1)
        const page = await after.history(channel, 0)
        expect(page.epoch).not.toBe(before.epoch)
        expect(page.messages.map((m) => m.offset)).toEqual([1])
      })
    })

    describe('idempotency keys', () => {
      it('answers a repeated key with the first offset, and neither stores nor delivers it again', async () => {
        const node = await open()
        const channel = fresh('keyed')
        await node.adapter.subscribe(channel)
        expect(await node.adapter.publish(channel, '"a"', 10, 'k1')).toBe(1)
        expect(await node.adapter.publish(channel, '"b"', 10)).toBe(2)
        expect(await node.adapter.publish(channel, '"a again"', 10, 'k1')).toBe(1)
        expect(await node.adapter.publish(channel, '"c"', 10, 'k2')).toBe(3)
        expect(await node.adapter.publish(fresh('other'), '"a"', 10, 'k1')).toBe(1) // keys are per channel
        await vi.waitFor(() => expect(offsetsOf(node, channel)).toEqual([1, 2, 3]))
        const page = await node.adapter.history(channel, 0)
        expect(page.offset).toBe(3)
        expect(page.messages.map((m) => m.body)).toEqual(node.received.map((d) => d.body))
      })

      it('publishes a repeated key anew once its window has passed', async () => {
        const node = await open(150)
        const channel = fresh('window')
        await node.adapter.subscribe(channel)
        expect(await node.adapter.publish(channel, '"a"', 10, 'k')).toBe(1)
        // Each try within the window is answered 1 and changes nothing; the first after it is new.
        await vi.waitFor(async () => expect(await node.adapter.publish(channel, '"a"', 10, 'k')).toBe(2), { timeout: 5_000 })
        await vi.waitFor(() => expect(offsetsOf(node, channel)).toEqual([1, 2]))
      })
    })

    describe('presence', () => {
      const members = async (node: Node, channel: string) =>
        (await node.adapter.presence.list(channel)).sort((x, y) => x.member.localeCompare(y.member))

      it('lists the members added, with their info, until they are removed', async () => {
        const node = await open()
        const channel = fresh('presence')
        await node.adapter.presence.add(channel, 'ann', '{"name":"Ann"}', LONG_MS)
        await node.adapter.presence.add(channel, 'bob', '{"name":"Bob"}', LONG_MS)
        expect(await members(node, channel)).toEqual([
          { member: 'ann', infoJson: '{"name":"Ann"}' },
          { member: 'bob', infoJson: '{"name":"Bob"}' },
        ])
        await node.adapter.presence.remove(channel, 'ann')
        await node.adapter.presence.remove(channel, 'nobody')
        expect(await members(node, channel)).toEqual([{ member: 'bob', infoJson: '{"name":"Bob"}' }])
        expect(await node.adapter.presence.list(fresh('empty'))).toEqual([])
      })

      it('expires a member its owner stops refreshing, and keeps one it refreshed', async () => {
        const node = await open()
        const channel = fresh('ttl')
        await node.adapter.presence.add(channel, 'refreshed', '1', 200)
        await node.adapter.presence.add(channel, 'refreshed', '2', LONG_MS)
        await node.adapter.presence.add(channel, 'forgotten', '1', 200)
        expect((await members(node, channel)).map((m) => m.member)).toEqual(['forgotten', 'refreshed'])
        await vi.waitFor(async () => expect(await members(node, channel)).toEqual([{ member: 'refreshed', infoJson: '2' }]), {
          timeout: 5_000,
        })
      })
    })

    describe.runIf(harness.sharesBackend ?? false)('across nodes', () => {
      it('carries one node’s publishes to the nodes that subscribed, in order, and to no other', async () => {
        const [a, b, c] = [await open(), await open(), await open()]
        const [wanted, other] = [fresh('wanted'), fresh('other')]
        await b.adapter.subscribe(wanted)
        await c.adapter.subscribe(other)
        for (let n = 1; n <= 10; n++) await a.adapter.publish(wanted, encodeData({ n }), 0)
        await a.adapter.publish(other, '1', 0)
        await vi.waitFor(() => expect(offsetsOf(b, wanted)).toEqual(range(1, 10)))
        await vi.waitFor(() => expect(offsetsOf(c, other)).toEqual([1]))
        expect(offsetsOf(c, wanted)).toEqual([])
        expect(a.received).toEqual([])
      })

      it('numbers a channel without a gap when several nodes publish to it at once, and shares its history', async () => {
        const nodes = [await open(), await open(), await open()]
        const channel = fresh('shared')
        await nodes[0]!.adapter.subscribe(channel)
        const offsets = await Promise.all(nodes.map((node) => publishMany(node.adapter, channel, 10, 50)))
        expect(offsets.flat().sort((x, y) => x - y)).toEqual(range(1, 30))
        await vi.waitFor(() => expect(offsetsOf(nodes[0]!, channel)).toEqual(range(1, 30)))
        const pages = await Promise.all(nodes.map((node) => node.adapter.history(channel, 20)))
        for (const page of pages) expect(page).toEqual(pages[0])
        expect(pages[0]!.messages.map((m) => m.body)).toEqual(nodes[0]!.received.slice(20).map((d) => d.body))
      })

      it('answers a key repeated on another node with the first offset, delivered once', async () => {
        const [a, b, watcher] = [await open(), await open(), await open()]
        const channel = fresh('keyed')
        await watcher.adapter.subscribe(channel)
        expect(await a.adapter.publish(channel, '"first"', 10, 'k')).toBe(1)
        expect(await b.adapter.publish(channel, '"again"', 10, 'k')).toBe(1)
        expect(await b.adapter.publish(channel, '"next"', 10)).toBe(2)
        await vi.waitFor(() => expect(offsetsOf(watcher, channel)).toEqual([1, 2]))
        expect(watcher.received[0]!.body).toBe(joinMessageBody(channel, '"first"', 1))
      })

      it('refuses another node a session whose lease is live, and grants it once the lease lapsed', async () => {
        const [a, b] = [await open(), await open()]
        const session = fresh('s')
        const held = await a.adapter.sessions.claim(session, 300)
        expect(await b.adapter.sessions.claim(session, LONG_MS)).toEqual(held)
        expect(await b.adapter.sessions.owner(session)).toEqual(held)
        await vi.waitFor(async () => expect(await b.adapter.sessions.owner(session)).toBeNull(), { timeout: 5_000 })
        const taken = await b.adapter.sessions.claim(session, LONG_MS)
        expect(taken).toEqual({ nodeId: b.adapter.sessions.nodeId, fence: expect.any(Number) })
        expect(taken.fence).toBeGreaterThan(held.fence)
        expect(await a.adapter.sessions.renew(session, held.fence, LONG_MS)).toBe(false)
      })

      it('hands a session to another node, whose fence then rules', async () => {
        const [a, b] = [await open(), await open()]
        const session = fresh('s')
        const mine = await a.adapter.sessions.claim(session, LONG_MS)
        const theirs = await a.adapter.sessions.handOver(session, mine.fence, b.adapter.sessions.nodeId, LONG_MS)
        expect(await b.adapter.sessions.owner(session)).toEqual(theirs)
        expect(await b.adapter.sessions.renew(session, theirs!.fence, LONG_MS)).toBe(true)
        expect(await a.adapter.sessions.release(session, mine.fence)).toBe(false)
        expect(await b.adapter.sessions.release(session, theirs!.fence)).toBe(true)
      })

      it('forwards a request to another node and brings back its answer or its error code', async () => {
        const [a, b] = [await open(), await open()]
        b.answer = (request) => `b took ${request}`
        await expect(a.adapter.sessions.forward(b.adapter.sessions.nodeId, 'poll s1', 5_000)).resolves.toBe('b took poll s1')
        b.answer = () => {
          throw new SwitchboardError('INVALID_TOKEN')
        }
        await expect(a.adapter.sessions.forward(b.adapter.sessions.nodeId, 'poll s1', 5_000)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
        await b.adapter.close()
        await expect(a.adapter.sessions.forward(b.adapter.sessions.nodeId, 'poll s1', 300)).rejects.toMatchObject({ code: 'NODE_UNREACHABLE' })
      })

      it('shares presence: a member one node adds, another lists and removes', async () => {
        const [a, b] = [await open(), await open()]
        const channel = fresh('presence')
        await a.adapter.presence.add(channel, 'ann', '{"name":"Ann"}', LONG_MS)
        expect(await b.adapter.presence.list(channel)).toEqual([{ member: 'ann', infoJson: '{"name":"Ann"}' }])
        await b.adapter.presence.remove(channel, 'ann')
        expect(await a.adapter.presence.list(channel)).toEqual([])
      })
    })

    describe('session directory', () => {
      it('claims a free session for this node, with a fence that grows on every claim', async () => {
        const { adapter } = await open()
        const session = fresh('s')
        expect(await adapter.sessions.owner(session)).toBeNull()
        const first = await adapter.sessions.claim(session, LONG_MS)
        expect(first.nodeId).toBe(adapter.sessions.nodeId)
        expect(await adapter.sessions.owner(session)).toEqual(first)
        const second = await adapter.sessions.claim(session, LONG_MS)
        expect(second.fence).toBeGreaterThan(first.fence)
        expect(await adapter.sessions.owner(session)).toEqual(second)
      })

      it('refuses a renew, hand-over or release with a stale fence, and takes them with the current one', async () => {
        const { adapter } = await open()
        const session = fresh('s')
        const stale = await adapter.sessions.claim(session, LONG_MS)
        const current = await adapter.sessions.claim(session, LONG_MS)
        expect(await adapter.sessions.renew(session, stale.fence, LONG_MS)).toBe(false)
        expect(await adapter.sessions.handOver(session, stale.fence, 'node-b', LONG_MS)).toBeNull()
        expect(await adapter.sessions.release(session, stale.fence)).toBe(false)
        expect(await adapter.sessions.owner(session)).toEqual(current)
        expect(await adapter.sessions.renew(session, current.fence, LONG_MS)).toBe(true)
        expect(await adapter.sessions.release(session, current.fence)).toBe(true)
        expect(await adapter.sessions.owner(session)).toBeNull()
        expect((await adapter.sessions.claim(session, LONG_MS)).fence).toBeGreaterThan(current.fence)
      })

      it('hands a session over with a new fence, and does not take back a session another node holds', async () => {
        const { adapter } = await open()
        const session = fresh('s')
        const mine = await adapter.sessions.claim(session, LONG_MS)
        const theirs = await adapter.sessions.handOver(session, mine.fence, 'node-b', LONG_MS)
        expect(theirs).toEqual({ nodeId: 'node-b', fence: expect.any(Number) })
        expect(theirs!.fence).toBeGreaterThan(mine.fence)
        expect(await adapter.sessions.renew(session, mine.fence, LONG_MS)).toBe(false)
        expect(await adapter.sessions.claim(session, LONG_MS)).toEqual(theirs)
        expect(await adapter.sessions.owner(session)).toEqual(theirs)
      })

      it('lets a lease lapse, after which its fence is refused and a new claim gets a greater one', async () => {
        const { adapter } = await open()
        const session = fresh('s')
        const lapsed = await adapter.sessions.handOver(session, (await adapter.sessions.claim(session, LONG_MS)).fence, 'node-b', 200)
        await vi.waitFor(async () => expect(await adapter.sessions.owner(session)).toBeNull(), { timeout: 5_000 })
        expect(await adapter.sessions.renew(session, lapsed!.fence, LONG_MS)).toBe(false)
        const claimed = await adapter.sessions.claim(session, LONG_MS)
        expect(claimed.nodeId).toBe(adapter.sessions.nodeId)
        expect(claimed.fence).toBeGreaterThan(lapsed!.fence)
      })

      it('forwards a request to the owner node and resolves to its answer', async () => {
        const { adapter } = await open()
        await expect(adapter.sessions.forward(adapter.sessions.nodeId, 'poll s1', 5_000)).resolves.toBe('answer to poll s1')
      })

      it('rejects a forward with NODE_UNREACHABLE when the node is unknown or does not answer in time', async () => {
        const node = await open()
        const code = (e: unknown) => (e instanceof SwitchboardError ? e.code : e)
        await expect(node.adapter.sessions.forward('no-such-node', 'x', 1_000).catch(code)).resolves.toBe('NODE_UNREACHABLE')
        node.answer = () => new Promise<string>(() => {})
        await expect(node.adapter.sessions.forward(node.adapter.sessions.nodeId, 'x', 100).catch(code)).resolves.toBe('NODE_UNREACHABLE')
      })

      it('passes on the code of a SwitchboardError the owner node answers with', async () => {
        const node = await open()
        node.answer = () => {
          throw new SwitchboardError('INVALID_TOKEN')
        }
        await expect(node.adapter.sessions.forward(node.adapter.sessions.nodeId, 'x', 1_000)).rejects.toMatchObject({
          code: 'INVALID_TOKEN',
        })
      })
    })
  })
}
