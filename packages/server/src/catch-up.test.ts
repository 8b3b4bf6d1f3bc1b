import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import type { HistoryPage, StoredMessage } from './adapters/adapter.js'
import { planCatchUp, type HeldMessage } from './catch-up.js'

const stored = (from: number, to: number): StoredMessage[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => ({ offset: from + i, body: `m${from + i}` }))
const held = (from: number, to: number, epoch = 'e1'): HeldMessage[] => stored(from, to).map((m) => ({ ...m, epoch }))
const page = (offset: number, messages: StoredMessage[], epoch = 'e1'): HistoryPage => ({ offset, epoch, messages })
const bodies = (from: number, to: number) => stored(from, to).map((m) => m.body)
const offsets = (from: number, to: number) => stored(from, to).map((m) => m.offset)

describe('planCatchUp', () => {
  it('starts a fresh subscribe after the position, with what arrived while it was read', () => {
    expect(planCatchUp(null, page(5, []), held(4, 7))).toEqual({
      bodies: bodies(6, 7),
      offsets: offsets(6, 7),
      result: { offset: 7, epoch: 'e1', recovered: true },
    })
  })

  it('replays the recent messages, then the held ones past them, each once', () => {
    expect(planCatchUp(null, page(10, stored(8, 10)), held(9, 12))).toEqual({
      bodies: bodies(8, 12),
      offsets: offsets(8, 12),
      result: { offset: 12, epoch: 'e1', recovered: true },
    })
  })

  it('recovers a resubscribe that history covers', () => {
    expect(planCatchUp([3, 'e1'], page(6, stored(4, 6)), [])).toEqual({
      bodies: bodies(4, 6),
      offsets: offsets(4, 6),
      result: { offset: 6, epoch: 'e1', recovered: true },
    })
  })

  it('recovers a resubscribe that is up to date', () => {
    expect(planCatchUp([6, 'e1'], page(6, []), [])).toEqual({ bodies: [], offsets: [], result: { offset: 6, epoch: 'e1', recovered: true } })
  })

  it('replays what history still holds after a longer gap and names the offsets it lacks', () => {
    expect(planCatchUp([3, 'e1'], page(12, stored(8, 12)), held(12, 13))).toEqual({
      bodies: bodies(8, 13),
      offsets: offsets(8, 13),
      result: { offset: 13, epoch: 'e1', recovered: false, missing: { from: 4, to: 7 } },
    })
  })

  it('counts held messages that history no longer has as replayed, not missing', () => {
    // No history at all; 9 and 10 arrived live while the position was read.
    expect(planCatchUp([3, 'e1'], page(10, []), held(9, 11))).toEqual({
      bodies: bodies(9, 11),
      offsets: offsets(9, 11),
      result: { offset: 11, epoch: 'e1', recovered: false, missing: { from: 4, to: 8 } },
    })
  })

  it('names every offset up to the position when nothing is left to replay', () => {
    expect(planCatchUp([3, 'e1'], page(10, []), [])).toEqual({
      bodies: [],
      offsets: [],
      result: { offset: 10, epoch: 'e1', recovered: false, missing: { from: 4, to: 10 } },
    })
  })

  it('replays the whole history of a new epoch and marks the old epoch’s messages as unknown', () => {
    expect(planCatchUp([50, 'old'], page(3, stored(1, 3), 'new'), [])).toEqual({
      bodies: bodies(1, 3),
      offsets: offsets(1, 3),
      result: { offset: 3, epoch: 'new', recovered: false, missing: { from: null, to: 0 } },
    })
    expect(planCatchUp([50, 'old'], page(9, stored(6, 9), 'new'), [])).toEqual({
      bodies: bodies(6, 9),
      offsets: offsets(6, 9),
      result: { offset: 9, epoch: 'new', recovered: false, missing: { from: null, to: 5 } },
    })
  })

  it('drops held messages of another epoch than the page’s', () => {
    expect(planCatchUp(null, page(2, [], 'e2'), [...held(7, 8, 'e1'), ...held(3, 3, 'e2')])).toEqual({
      bodies: bodies(3, 3),
      offsets: offsets(3, 3),
      result: { offset: 3, epoch: 'e2', recovered: true },
    })
  })

  /**
   * A channel's stream 1..last. This node's interest began after offset `interestAt`, so every
   * later message was held; history was read at `position`, keeping `historySize` messages.
   */
  const scenario = fc
    .record({
      interestAt: fc.nat({ max: 40 }),
      readAfter: fc.nat({ max: 10 }),
      heldAfter: fc.nat({ max: 10 }),
      historySize: fc.nat({ max: 15 }),
      sinceBack: fc.nat({ max: 50 }),
    })
    .map(({ interestAt, readAfter, heldAfter, historySize, sinceBack }) => {
      const position = interestAt + readAfter
      return { interestAt, position, last: position + heldAfter, historySize, since: Math.max(0, position - sinceBack) }
    })

  itProp.prop([scenario])('sends each offset once, in order, and names exactly the ones it lacks', (s) => {
    const kept = stored(Math.max(s.since + 1, s.position - s.historySize + 1), s.position)
    const { bodies: sent, offsets: sentOffsets, result } = planCatchUp([s.since, 'e1'], page(s.position, kept), held(s.interestAt + 1, s.last))
    // What this node had after `since`: history and held messages, which meet or overlap.
    const first = Math.min(kept[0]?.offset ?? Infinity, Math.max(s.interestAt, s.since) + 1)
    expect(sent).toEqual(bodies(first, s.last))
    expect(sentOffsets).toEqual(offsets(first, s.last))
    expect(result.offset).toBe(s.last)
    const missing = first > s.since + 1 ? { from: s.since + 1, to: first - 1 } : undefined
    expect(result.missing).toEqual(missing)
    expect(result.recovered).toBe(missing === undefined)
  })
})
