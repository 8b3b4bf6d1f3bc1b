import { fc } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { encodeAck, encodeMessage, encodeMessageBody } from './codec.js'
import { Sequencer } from './sequencer.js'

/**
 * The one sequencing engine both sessions use. Unit tests pin each rule; the property at the end
 * runs two engines against each other over a line that drops, duplicates and reorders batches and
 * is replaced at random, and checks exactly-once, in-order delivery with bounded memory.
 */
const frameFor = (seq: number) => encodeMessage(seq, encodeMessageBody('room', { n: seq }, seq))
const LIMITS = { maxFrames: 512, maxBytes: 1_000_000 }
const engine = (max = 1_000, early = 0) =>
  new Sequencer<string>({ maxUnackedFrames: max, maxUnackedBytes: 10_000_000, maxEarlyFrames: early, maxEarlyChars: early * 1_000 })
const fill = (s: Sequencer, n: number) => {
  for (let i = 0; i < n; i++) s.append(frameFor(s.nextSeq))
}
const seqsIn = (batch: string) => (JSON.parse(batch) as number[][]).filter((f) => f[0] === 20).map((f) => f[1])

describe('Sequencer outbound', () => {
  it('numbers frames from 1 and gives each line what it has not had, within frame and byte bounds', () => {
    const s = engine()
    fill(s, 5)
    expect(seqsIn(s.nextBatch({ maxFrames: 2, maxBytes: 1_000_000 }, false))).toEqual([1, 2])
    expect(s.unsent).toBe(true)
    const small = { maxFrames: 512, maxBytes: frameFor(3).length * 2 + 3 }
    expect(seqsIn(s.nextBatch(small, false))).toEqual([3, 4])
    expect(seqsIn(s.nextBatch(LIMITS, false))).toEqual([5])
    expect(s.unsent).toBe(false)
    expect(s.nextBatch(LIMITS, false)).toBe('')
    expect(s.everSent).toBe(5)
  })

  it('always gives one frame, even one larger than the byte bound', () => {
    const s = engine()
    fill(s, 2)
    expect(seqsIn(s.nextBatch({ maxFrames: 512, maxBytes: 10 }, false))).toEqual([1])
  })

  it('rewinds to the peer ack on a new line: resends the rest, never what an ack already covered', () => {
    const s = engine()
    fill(s, 6)
    s.nextBatch(LIMITS, false)
    expect(s.ack(2)).toBe(true)
    expect(s.rewind(1)).toBe(true) // an attach ack older than the ACK received
    expect(seqsIn(s.nextBatch(LIMITS, false))).toEqual([3, 4, 5, 6])
    expect(s.rewind(4)).toBe(true)
    expect(s.out.size).toBe(2)
    expect(seqsIn(s.nextBatch(LIMITS, false))).toEqual([5, 6])
  })

  it('refuses an ack or a rewind beyond the last seq, changing nothing', () => {
    const s = engine()
    fill(s, 2)
    expect(s.ack(3)).toBe(false)
    expect(s.rewind(3)).toBe(false)
    expect(s.out.size).toBe(2)
    expect(seqsIn(s.nextBatch(LIMITS, false))).toEqual([1, 2])
  })

  it('keeps the frames the peer has not acked, and those this line has not had, for final words', () => {
    const s = engine()
    fill(s, 4)
    s.nextBatch({ maxFrames: 2, maxBytes: 1_000_000 }, false)
    s.ack(1)
    expect(s.unackedFrames()).toEqual([2, 3, 4].map(frameFor))
    expect(s.unsentFrames()).toEqual([3, 4].map(frameFor))
  })
})

describe('Sequencer inbound and acks', () => {
  it('delivers the next seq, drops duplicates, reports gaps', () => {
    const s = engine()
    expect([s.accept(1), s.accept(1), s.accept(3), s.accept(2)]).toEqual(['deliver', 'duplicate', 'gap', 'deliver'])
    expect(s.received).toBe(2)
  })

  it('owes an ack for what it delivered until one leaves in a batch, a reply covers it, or the caller says so', () => {
    const s = engine()
    s.accept(1)
    s.accept(2)
    expect(s.ackOwed).toBe(2)
    expect(s.nextBatch(LIMITS, false)).toBe('') // a line that carries acks elsewhere
    expect(s.nextBatch(LIMITS, true)).toBe(`[${encodeAck(2)}]`)
    expect(s.ackOwed).toBe(0)
    s.accept(3)
    s.acked(3) // a reply to 3
    expect(s.nextBatch(LIMITS, true)).toBe('')
    s.forgetAcked() // a new line: say it again
    expect(s.nextBatch(LIMITS, true)).toBe(`[${encodeAck(3)}]`)
  })

  it('keeps the control frames of each engine to itself, after each batch took them', () => {
    const a = engine()
    const b = engine()
    a.control('[3]')
    expect(a.nextBatch(LIMITS, false)).toBe('[[3]]')
    a.control('[4]', true)
    expect(b.nextBatch(LIMITS, false)).toBe('')
    b.control('[3]')
    expect(a.nextBatch(LIMITS, false)).toBe('[[4]]')
    expect(b.nextBatch(LIMITS, false)).toBe('[[3]]')
  })

  it('puts control frames first, then the ack, then data; the first-placed control frame leads', () => {
    const s = engine()
    fill(s, 1)
    s.accept(1)
    s.control('[3]')
    s.control('[1,1]', true)
    expect(s.nextBatch(LIMITS, true)).toBe(`[[1,1],[3],${encodeAck(1)},${frameFor(1)}]`)
    s.control('[3]')
    s.control('[4]')
    s.filterControl((f) => f !== '[3]')
    expect(s.nextBatch(LIMITS, true)).toBe('[[4]]')
  })

  it('answers a POST with the ack and, when asked, the unsent frames within the bounds', () => {
    const s = engine()
    s.accept(1)
    expect(s.answerBatch(LIMITS, true)).toBe(`[${encodeAck(1)}]`)
    fill(s, 3)
    expect(s.answerBatch(LIMITS, false)).toBe(`[${encodeAck(1)}]`)
    expect(s.answerBatch({ maxFrames: 3, maxBytes: 1_000_000 }, true)).toBe(`[${encodeAck(1)},${frameFor(1)},${frameFor(2)}]`)
    expect(s.answerBatch(LIMITS, true)).toBe(`[${encodeAck(1)},${frameFor(3)}]`)
  })

  it('holds frames ahead of a gap within its bounds and hands them over once the gap fills', () => {
    const s = engine(1_000, 2)
    expect(s.accept(2)).toBe('gap')
    expect(s.hold(2, 'two', 10)).toBe(true)
    expect(s.hold(2, 'two', 10)).toBe(true) // the same frame twice is held once
    expect(s.hold(3, 'three', 10)).toBe(true)
    expect(s.hold(4, 'four', 10)).toBe(false) // full: the owner has the peer resend
    expect(s.takeHeld()).toBeUndefined()
    expect(s.accept(1)).toBe('deliver')
    expect([s.takeHeld(), s.takeHeld(), s.takeHeld()]).toEqual(['two', 'three', undefined])
    expect(s.received).toBe(3)
  })

  it('holds nothing when built without room for early frames', () => {
    expect(engine().hold(2, 'two', 1)).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------------
// Property: a sender and a receiver engine over a lossy line that is replaced at random.

type Step =
  | { kind: 'send'; n: number }
  | { kind: 'flush' }
  | { kind: 'deliver'; i: number }
  | { kind: 'drop'; i: number }
  | { kind: 'duplicate'; i: number }
  | { kind: 'ack' }
  | { kind: 'deliverAck'; i: number }
  | { kind: 'reattach' }

const steps = fc.array(
  fc.oneof(
    fc.integer({ min: 1, max: 6 }).map((n): Step => ({ kind: 'send', n })),
    fc.constant<Step>({ kind: 'flush' }),
    fc.nat().map((i): Step => ({ kind: 'deliver', i })),
    fc.nat().map((i): Step => ({ kind: 'deliver', i })),
    fc.nat().map((i): Step => ({ kind: 'drop', i })),
    fc.nat().map((i): Step => ({ kind: 'duplicate', i })),
    fc.constant<Step>({ kind: 'ack' }),
    fc.nat().map((i): Step => ({ kind: 'deliverAck', i })),
    fc.constant<Step>({ kind: 'reattach' }),
  ),
  { maxLength: 80 },
)

describe('Sequencer state', () => {
  it('goes on elsewhere from its state: same seqs, unacked frames resent from the peer ack, peer seqs kept', () => {
    const processing = () => new Sequencer<string>({ maxUnackedFrames: 1_000, maxUnackedBytes: 10_000_000, ackProcessed: true })
    const a = processing()
    fill(a, 5)
    a.nextBatch(LIMITS, false)
    a.ack(2)
    a.accept(1)
    a.accept(2)
    a.processed(1)
    const state = a.state()
    expect(state).toEqual({ acked: 2, frames: [frameFor(3), frameFor(4), frameFor(5)], received: 2, processed: 1 })
    const b = processing()
    b.restore(JSON.parse(JSON.stringify(state)))
    expect(b.nextSeq).toBe(6)
    expect(b.received).toBe(2)
    expect(b.processedSeq).toBe(1)
    expect(b.accept(2)).toBe('duplicate')
    expect(b.accept(3)).toBe('deliver')
    expect(b.rewind(3)).toBe(true)
    b.append(frameFor(b.nextSeq))
    expect(seqsIn(b.nextBatch(LIMITS, false))).toEqual([4, 5, 6])
    expect(b.out.bytes).toBe(frameFor(4).length + frameFor(5).length + frameFor(6).length)
    expect(b.ack(7)).toBe(false)
  })
})

describe('two Sequencers over a lossy line', () => {
  it('deliver every frame exactly once and in order, with both bounds held', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 1, max: 5 }), (plan, maxFrames) => {
        const sender = engine(12)
        const receiver = engine(12, 4)
        const delivered: number[] = []
        let wire: string[] = [] // batches in flight, sender -> receiver
        let acks: number[] = [] // acks in flight, receiver -> sender
        const limits = { maxFrames, maxBytes: 1_000_000 }
        let sent = 0
        const take = (batch: string) => {
          for (const f of JSON.parse(batch) as number[][]) {
            if (f[0] !== 20) continue
            const verdict = receiver.accept(f[1]!)
            if (verdict === 'deliver') {
              delivered.push(f[1]!)
              for (let h = receiver.takeHeld(); h !== undefined; h = receiver.takeHeld()) delivered.push(Number(h))
            } else if (verdict === 'gap') receiver.hold(f[1]!, String(f[1]), 10)
          }
        }
        for (const step of plan) {
          if (step.kind === 'send') {
            for (let i = 0; i < step.n && sender.out.hasRoom(frameFor(sender.nextSeq).length); i++) {
              sender.append(frameFor(sender.nextSeq))
              sent++
            }
          } else if (step.kind === 'flush') {
            const batch = sender.nextBatch(limits, false)
            if (batch !== '') wire.push(batch)
          } else if (step.kind === 'deliver' && wire.length > 0) {
            take(wire.splice(step.i % wire.length, 1)[0]!)
          } else if (step.kind === 'drop' && wire.length > 0) {
            wire.splice(step.i % wire.length, 1)
          } else if (step.kind === 'duplicate' && wire.length > 0) {
            wire.push(wire[step.i % wire.length]!)
          } else if (step.kind === 'ack') {
            acks.push(receiver.received)
            receiver.acked()
          } else if (step.kind === 'deliverAck' && acks.length > 0) {
            // Acks arrive late and out of order: an old one is harmless.
            expect(sender.ack(acks.splice(step.i % acks.length, 1)[0]!)).toBe(true)
          } else if (step.kind === 'reattach') {
            // A new line: what is in flight on the old one is lost, the attach states the receiver's ack.
            wire = []
            acks = []
            expect(sender.rewind(receiver.received)).toBe(true)
            receiver.forgetAcked()
          }
          expect(delivered).toEqual(Array.from({ length: delivered.length }, (_, i) => i + 1))
          expect(sender.out.size).toBeLessThanOrEqual(12)
        }
        // A final reattach, then the line works: everything sent arrives.
        wire = []
        sender.rewind(receiver.received)
        for (let batch = sender.nextBatch(limits, false); batch !== ''; batch = sender.nextBatch(limits, false)) take(batch)
        expect(delivered).toEqual(Array.from({ length: sent }, (_, i) => i + 1))
      }),
      { numRuns: 300 },
    )
  })
})
