import { fc, it as itProp } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { decodeServerBatch, encodeBatch, encodeMessage, encodeMessageBody } from './codec.js'
import { classifySeq, ReplayBuffer, type SeqVerdict } from './seq.js'

/** A MESSAGE frame whose payload repeats its seq, so a receiver can tell a frame was replayed under the right seq. */
const frameFor = (seq: number) => encodeMessage(seq, encodeMessageBody('room', { n: seq }, seq))

/** Decodes frames made by frameFor, checks each payload matches its seq, and returns the seqs. */
function seqsOf(frames: readonly string[]): number[] {
  // One decode and a plain loop: the compaction tests check tens of thousands of frames.
  return decodeServerBatch(encodeBatch(frames)).map((f) => {
    if (f[0] !== 20 || (f[3] as { n?: unknown } | null)?.n !== f[1] || f[4] !== f[1]) {
      throw new Error(`frame does not match its seq: ${JSON.stringify(f)}`)
    }
    return f[1]
  })
}

const seqOf = (frame: string) => seqsOf([frame])[0] as number

/** Appends `n` frames, each encoded with the seq the buffer will assign, and checks the seq it returns. */
function fill(buffer: ReplayBuffer, n: number): void {
  for (let i = 0; i < n; i++) {
    const expected = buffer.nextSeq
    const seq = buffer.append(frameFor(expected))
    if (seq !== expected) throw new Error(`append returned ${seq}, expected ${expected}`)
  }
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

describe('classifySeq', () => {
  it.each<[number, number, SeqVerdict]>([
    [0, 1, 'deliver'],
    [0, 0, 'duplicate'],
    [0, 2, 'gap'],
    [5, 6, 'deliver'],
    [5, 5, 'duplicate'],
    [5, 1, 'duplicate'],
    [5, 0, 'duplicate'],
    [5, 7, 'gap'],
    [5, 1_000_000, 'gap'],
    [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER, 'deliver'],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'duplicate'],
  ])('after delivering up to %i, seq %i is a %s', (last, seq, verdict) => {
    expect(classifySeq(last, seq)).toBe(verdict)
  })

  itProp.prop([fc.nat({ max: 1e9 }), fc.nat({ max: 1e9 })])(
    'delivers only the next seq, calls anything at or below last a duplicate and anything beyond a gap',
    (last, seq) => {
      const verdict = classifySeq(last, seq)
      if (seq === last + 1) expect(verdict).toBe('deliver')
      else if (seq <= last) expect(verdict).toBe('duplicate')
      else expect(verdict).toBe('gap')
    },
  )
})

describe('ReplayBuffer', () => {
  it('starts empty, expecting seq 1', () => {
    const buffer = new ReplayBuffer(10, 1000)
    expect(buffer.maxFrames).toBe(10)
    expect(buffer.maxBytes).toBe(1000)
    expect(buffer.nextSeq).toBe(1)
    expect(buffer.lastSeq).toBe(0)
    expect(buffer.ackedSeq).toBe(0)
    expect(buffer.size).toBe(0)
    expect(buffer.bytes).toBe(0)
    expect(buffer.framesAfter(0)).toEqual([])
  })

  it('assigns seqs 1, 2, 3 in append order and keeps frames verbatim', () => {
    const buffer = new ReplayBuffer(10, 1000)
    expect(buffer.append('a')).toBe(1)
    expect(buffer.append('bb')).toBe(2)
    expect(buffer.append('')).toBe(3)
    expect(buffer.nextSeq).toBe(4)
    expect(buffer.lastSeq).toBe(3)
    expect(buffer.size).toBe(3)
    expect(buffer.framesAfter(0)).toEqual(['a', 'bb', ''])
  })

  it('leaves the bound to its owner: append past maxFrames still stores the frame', () => {
    const buffer = new ReplayBuffer(1, 1)
    buffer.append('aaa')
    buffer.append('bbb')
    expect(buffer.hasRoom(0)).toBe(false)
    expect(buffer.size).toBe(2)
    expect(buffer.bytes).toBe(6)
  })

  describe('ack', () => {
    it('drops every frame up to the ack and keeps the rest', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 5)
      const before = buffer.bytes
      expect(buffer.ack(2)).toBe(true)
      expect(buffer.ackedSeq).toBe(2)
      expect(buffer.size).toBe(3)
      expect(buffer.bytes).toBe(before - frameFor(1).length - frameFor(2).length)
      expect(seqsOf(buffer.framesAfter(0))).toEqual([3, 4, 5])
      expect(buffer.nextSeq).toBe(6)
    })

    it('empties the buffer on an ack of lastSeq, and seqs carry on', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 3)
      expect(buffer.ack(3)).toBe(true)
      expect(buffer.size).toBe(0)
      expect(buffer.bytes).toBe(0)
      expect(buffer.framesAfter(0)).toEqual([])
      expect(buffer.append(frameFor(4))).toBe(4)
      expect(seqsOf(buffer.framesAfter(3))).toEqual([4])
    })

    it.each([0, -1, 1, 2, 3])('ignores an old ack of %i and returns true', (old) => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 5)
      buffer.ack(3)
      const bytes = buffer.bytes
      expect(buffer.ack(old)).toBe(true)
      expect(buffer.ackedSeq).toBe(3)
      expect(buffer.size).toBe(2)
      expect(buffer.bytes).toBe(bytes)
      expect(seqsOf(buffer.framesAfter(0))).toEqual([4, 5])
    })

    it.each([6, 7, 1_000, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY])(
      'refuses an ack of %s, beyond lastSeq 5, and changes nothing',
      (forged) => {
        const buffer = new ReplayBuffer(10, 1000)
        fill(buffer, 5)
        buffer.ack(1)
        const bytes = buffer.bytes
        expect(buffer.ack(forged)).toBe(false)
        expect(buffer.ackedSeq).toBe(1)
        expect(buffer.size).toBe(4)
        expect(buffer.bytes).toBe(bytes)
        expect(buffer.nextSeq).toBe(6)
        expect(seqsOf(buffer.framesAfter(0))).toEqual([2, 3, 4, 5])
      },
    )

    it('refuses any positive ack on an empty buffer and accepts 0', () => {
      const buffer = new ReplayBuffer(10, 1000)
      expect(buffer.ack(1)).toBe(false)
      expect(buffer.ack(0)).toBe(true)
      expect(buffer.nextSeq).toBe(1)
    })

    // An ack that is not an integer names no seq ever sent (an unvalidated ack header, say).
    it('refuses a fractional ack and keeps the frame it does not cover', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 3)
      expect(buffer.ack(1.5)).toBe(false)
      expect(buffer.ackedSeq).toBe(0)
      expect(buffer.nextSeq).toBe(4)
      expect(seqsOf(buffer.framesAfter(0))).toEqual([1, 2, 3])
    })

    // NaN compares false both ways: without the integer check it would poison every seq.
    it('refuses a NaN ack and stays usable', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 2)
      expect(buffer.ack(Number.NaN)).toBe(false)
      expect(buffer.nextSeq).toBe(3)
      expect(seqsOf(buffer.framesAfter(0))).toEqual([1, 2])
    })
  })

  describe('framesAfter', () => {
    const five = () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 5)
      return buffer
    }

    it.each<[number, number[]]>([
      [-3, [1, 2, 3, 4, 5]],
      [0, [1, 2, 3, 4, 5]],
      [2, [3, 4, 5]],
      [4, [5]],
      [5, []],
      [9, []],
    ])('after %i returns seqs %j', (after, seqs) => {
      expect(seqsOf(five().framesAfter(after))).toEqual(seqs)
    })

    it.each<[number, number, number[]]>([
      [0, 0, []],
      [0, 1, [1]],
      [0, 2, [1, 2]],
      [2, 2, [3, 4]],
      [3, 2, [4, 5]],
      [4, 2, [5]],
      [0, 99, [1, 2, 3, 4, 5]],
      [5, 1, []],
    ])('after %i with limit %i returns seqs %j', (after, limit, seqs) => {
      expect(seqsOf(five().framesAfter(after, limit))).toEqual(seqs)
    })

    it('with maxBytes, stops where the batch would pass it, and always returns one frame', () => {
      const buffer = five()
      const size = frameFor(1).length + 1 // each frame and its comma (or the closing bracket)
      expect(seqsOf(buffer.framesAfter(0, 99, 1 + 3 * size))).toEqual([1, 2, 3])
      expect(seqsOf(buffer.framesAfter(0, 99, 3 * size))).toEqual([1, 2])
      expect(seqsOf(buffer.framesAfter(0, 2, 1_000))).toEqual([1, 2])
      expect(seqsOf(buffer.framesAfter(3, 99, 1))).toEqual([4])
      expect(buffer.framesAfter(5, 99, 1)).toEqual([])
    })

    it("measures with the owner's byteLength, only for batches near the limit", () => {
      const lengths: string[] = []
      const buffer = new ReplayBuffer(10, 1000, (s) => (lengths.push(s), Buffer.byteLength(s)))
      fill(buffer, 5)
      buffer.framesAfter(0, 99, 1_000)
      expect(lengths).toEqual([])
      buffer.framesAfter(0, 99, 2 * (frameFor(1).length + 1))
      expect(lengths.length).toBeGreaterThan(0)
    })

    it('takes the sizes an owner gives with its frames, and measures only the frames given none', () => {
      const measured: number[] = []
      const buffer = new ReplayBuffer(10, 1000, (s) => (measured.push(seqOf(s)), Buffer.byteLength(s)))
      fill(buffer, 2)
      // Seqs 3 to 5 come with a size of 100 bytes each: more than they take, so the cut shows it is used.
      for (let i = 0; i < 3; i++) buffer.append(frameFor(buffer.nextSeq), 100)
      const unsized = frameFor(1).length + 1
      expect(seqsOf(buffer.framesAfter(0, 99, 1 + 2 * unsized + 2 * 101))).toEqual([1, 2, 3, 4])
      expect(buffer.countAfter(0, 99, 2 * unsized + 2 * 101)).toBe(3)
      expect(seqsOf(buffer.framesAfter(2, 99, 1 + 101))).toEqual([3])
      expect(new Set(measured)).toEqual(new Set([1, 2]))
    })

    it('keeps given sizes beside their frames through compaction', () => {
      const buffer = new ReplayBuffer(5_000, 10_000_000, () => {
        throw new Error('a frame with a given size was measured')
      })
      // Sizes that differ from seq to seq, so a size read beside the wrong frame changes the cut.
      const sizeOf = (seq: number) => 30 + (seq % 7) * 10
      for (let seq = 1; seq <= 3_000; seq++) {
        buffer.append(frameFor(seq), sizeOf(seq))
        if (seq > 5) buffer.ack(seq - 5)
      }
      // Five held (2,996..3,000), of 30, 40, 50, 60 and 70 bytes.
      expect(seqsOf(buffer.framesAfter(0, 99, 1 + 31 + 41 + 51))).toEqual([2_996, 2_997, 2_998])
      expect(seqsOf(buffer.framesAfter(0, 99, 31 + 41 + 51))).toEqual([2_996, 2_997])
      expect(seqsOf(buffer.framesAfter(2_997, 99, 1 + 51 + 61 + 71))).toEqual([2_998, 2_999, 3_000])
      // Cleared, it forgets the old sizes: two frames said to take 7 bytes fit in 1 + 2 * 8.
      buffer.clear()
      for (let i = 0; i < 2; i++) buffer.append(frameFor(buffer.nextSeq), 7)
      expect(seqsOf(buffer.framesAfter(0, 99, 1 + 2 * 8))).toEqual([3_001, 3_002])
    })

    it('starts at the oldest held frame when asked for frames already acked', () => {
      const buffer = five()
      buffer.ack(3)
      expect(seqsOf(buffer.framesAfter(1))).toEqual([4, 5])
      expect(seqsOf(buffer.framesAfter(1, 1))).toEqual([4])
      expect(seqsOf(buffer.framesAfter(4))).toEqual([5])
    })

    it('returns a copy the caller may change', () => {
      const buffer = five()
      const frames = buffer.framesAfter(0)
      frames.length = 0
      expect(buffer.framesAfter(0)).toHaveLength(5)
      expect(buffer.size).toBe(5)
    })
  })

  describe('countAfter + batchAfter', () => {
    it('count what framesAfter returns, and batch it after the control frames, for every start, limit and byte bound', () => {
      const size = frameFor(1).length + 1
      for (const acked of [0, 2]) {
        const buffer = new ReplayBuffer(10, 1000)
        fill(buffer, 5)
        buffer.ack(acked)
        for (const after of [-1, 0, 1, 2, 3, 4, 5, 7]) {
          for (const limit of [0, 1, 2, 99]) {
            for (const maxBytes of [undefined, 1, 2 * size, 1 + 3 * size, 10_000]) {
              const frames = buffer.framesAfter(after, limit, maxBytes)
              const count = buffer.countAfter(after, limit, maxBytes)
              expect(count).toBe(frames.length)
              for (const control of [[], ['[2,9]'], ['[4]', '[2,9]']]) {
                expect(buffer.batchAfter(after, count, control.join(','))).toBe(encodeBatch([...control, ...frames]))
              }
            }
          }
        }
      }
    })

    it('wraps a single frame as it is held, and batches nothing past the end', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 3)
      expect(buffer.batchAfter(2, 1, '')).toBe(`[${frameFor(3)}]`)
      expect(buffer.batchAfter(2, 5, '[2,1]')).toBe(`[[2,1],${frameFor(3)}]`)
      expect(buffer.batchAfter(3, 1, '[2,1]')).toBe('[[2,1]]')
      expect(buffer.batchAfter(0, 0, '')).toBe('[]')
      expect(buffer.countAfter(3)).toBe(0)
    })

    it('leaves the frames it holds as they were', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 4)
      buffer.batchAfter(0, 4, '[2,1]')
      expect(buffer.framesAfter(0)).toEqual([1, 2, 3, 4].map(frameFor))
    })
  })

  describe('hasRoom', () => {
    it('says no once maxFrames frames are held, and yes again after an ack', () => {
      const buffer = new ReplayBuffer(3, 1_000_000)
      fill(buffer, 2)
      expect(buffer.hasRoom(1)).toBe(true)
      fill(buffer, 1)
      expect(buffer.hasRoom(0)).toBe(false)
      expect(buffer.hasRoom(1)).toBe(false)
      buffer.ack(1)
      expect(buffer.hasRoom(1)).toBe(true)
    })

    it('counts bytes: a frame that exactly fills maxBytes fits, one byte more does not', () => {
      const buffer = new ReplayBuffer(100, 10)
      expect(buffer.hasRoom(10)).toBe(true)
      expect(buffer.hasRoom(11)).toBe(false)
      buffer.append('aaaa')
      expect(buffer.hasRoom(6)).toBe(true)
      expect(buffer.hasRoom(7)).toBe(false)
      buffer.append('bbbbbb')
      expect(buffer.bytes).toBe(10)
      expect(buffer.hasRoom(0)).toBe(true)
      expect(buffer.hasRoom(1)).toBe(false)
      buffer.ack(1)
      expect(buffer.hasRoom(4)).toBe(true)
      expect(buffer.hasRoom(5)).toBe(false)
    })

    it('says no to everything when maxFrames is 0', () => {
      expect(new ReplayBuffer(0, 1000).hasRoom(0)).toBe(false)
    })

    it('keeps to new bounds: frames held past lower ones stay, and no new one fits until acks free room', () => {
      const buffer = new ReplayBuffer(10, 1000)
      fill(buffer, 4)
      buffer.bound(3, 1000)
      expect([buffer.maxFrames, buffer.size, buffer.hasRoom(0)]).toEqual([3, 4, false])
      buffer.ack(2)
      expect(buffer.hasRoom(0)).toBe(true)
      buffer.bound(100, buffer.bytes)
      expect([buffer.hasRoom(0), buffer.hasRoom(1)]).toEqual([true, false])
    })
  })

  describe('admits', () => {
    it('is hasRoom, except that an empty buffer takes one frame of any size', () => {
      const buffer = new ReplayBuffer(5, 10)
      expect([buffer.hasRoom(11), buffer.admits(11)]).toEqual([false, true])
      buffer.append('x'.repeat(11))
      expect([buffer.admits(0), buffer.admits(1)]).toEqual([false, false])
      buffer.ack(1)
      expect([buffer.admits(10), buffer.admits(1_000)]).toEqual([true, true])
      expect(new ReplayBuffer(0, 10).admits(1)).toBe(true)
    })
  })

  describe('bytes', () => {
    it('sums the string length of held frames, in UTF-16 units', () => {
      const buffer = new ReplayBuffer(10, 1000)
      buffer.append('abc')
      buffer.append('é')
      buffer.append('💬')
      buffer.append('')
      expect(buffer.bytes).toBe(3 + 1 + 2 + 0)
      buffer.ack(2)
      expect(buffer.bytes).toBe(2)
      buffer.ack(4)
      expect(buffer.bytes).toBe(0)
    })
  })

  describe('compaction', () => {
    it('keeps framesAfter right while 12,345 frames are appended and acked one by one', () => {
      const total = 12_345
      const buffer = new ReplayBuffer(total, Number.MAX_SAFE_INTEGER)
      fill(buffer, total)
      let bytes = buffer.bytes
      for (let seq = 1; seq <= total; seq++) {
        if (!buffer.ack(seq)) throw new Error(`ack(${seq}) refused`)
        bytes -= frameFor(seq).length
        if (seq % 997 === 0 || seq > total - 3) {
          expect(buffer.ackedSeq).toBe(seq)
          expect(buffer.size).toBe(total - seq)
          expect(buffer.bytes).toBe(bytes)
          expect(seqsOf(buffer.framesAfter(seq, 3))).toEqual(range(seq + 1, Math.min(seq + 3, total)))
          expect(seqsOf(buffer.framesAfter(0, 2))).toEqual(range(seq + 1, Math.min(seq + 2, total)))
          const rest = buffer.framesAfter(seq)
          expect(rest).toHaveLength(total - seq)
          if (rest.length > 0) expect(seqOf(rest[rest.length - 1] as string)).toBe(total)
        }
      }
      expect(buffer.bytes).toBe(0)
      expect(buffer.framesAfter(0)).toEqual([])
      expect(buffer.append(frameFor(total + 1))).toBe(total + 1)
    })

    it('keeps framesAfter right over a sliding window of 50,000 frames', () => {
      const buffer = new ReplayBuffer(200, Number.MAX_SAFE_INTEGER)
      for (let step = 1; step <= 50_000; step++) {
        if (!buffer.hasRoom(frameFor(buffer.nextSeq).length)) throw new Error(`no room at step ${step}`)
        fill(buffer, 1)
        // Ack in uneven strides so the window drifts over compaction points at different offsets.
        if ((buffer.size >= 150 || step % 7 === 0) && !buffer.ack(buffer.lastSeq - (step % 50))) {
          throw new Error(`ack refused at step ${step}`)
        }
        if (step % 4_999 === 0) {
          const frames = buffer.framesAfter(buffer.ackedSeq)
          expect(seqsOf(frames)).toEqual(range(buffer.ackedSeq + 1, buffer.lastSeq))
          expect(buffer.bytes).toBe(frames.reduce((n, f) => n + f.length, 0))
        }
      }
      expect(buffer.lastSeq).toBe(50_000)
    })

    it('lets go of its array once emptied: buffers that are empty at once keep their own frames after', () => {
      const a = new ReplayBuffer(100, Number.MAX_SAFE_INTEGER)
      const b = new ReplayBuffer(100, Number.MAX_SAFE_INTEGER)
      fill(a, 3)
      a.ack(3)
      b.clear()
      expect(a.append(frameFor(4))).toBe(4)
      expect(b.framesAfter(0)).toEqual([])
      expect(b.append(frameFor(1))).toBe(1)
      expect(seqsOf(a.framesAfter(0))).toEqual([4])
      expect(seqsOf(b.framesAfter(0))).toEqual([1])
      expect(a.batchAfter(3, 1, '')).toBe(`[${frameFor(4)}]`)
    })

    it('survives acks in big jumps across the compaction threshold', () => {
      const buffer = new ReplayBuffer(10_000, Number.MAX_SAFE_INTEGER)
      fill(buffer, 5_000)
      for (const ack of [1, 1_025, 1_026, 2_600, 2_601, 4_000, 4_999, 5_030]) {
        expect(buffer.ack(ack)).toBe(true)
        expect(buffer.ackedSeq).toBe(ack)
        expect(buffer.size).toBe(buffer.lastSeq - ack)
        expect(seqsOf(buffer.framesAfter(ack, 2))).toEqual(range(ack + 1, Math.min(ack + 2, buffer.lastSeq)))
        expect(seqsOf(buffer.framesAfter(0))).toEqual(range(ack + 1, buffer.lastSeq))
        fill(buffer, 10)
      }
      expect(buffer.lastSeq).toBe(5_080)
    })
  })

  describe('clear', () => {
    it('forgets every frame but keeps numbering after the last seq', () => {
      const buffer = new ReplayBuffer(5, 1000)
      fill(buffer, 5)
      buffer.ack(2)
      buffer.clear()
      expect(buffer.size).toBe(0)
      expect(buffer.bytes).toBe(0)
      expect(buffer.lastSeq).toBe(5)
      expect(buffer.ackedSeq).toBe(5)
      expect(buffer.nextSeq).toBe(6)
      expect(buffer.framesAfter(0)).toEqual([])
      expect(buffer.framesAfter(2)).toEqual([])
      expect(buffer.hasRoom(1000)).toBe(true)
      expect(buffer.ack(5)).toBe(true)
      expect(buffer.ack(6)).toBe(false)
      expect(buffer.append(frameFor(6))).toBe(6)
      expect(seqsOf(buffer.framesAfter(2))).toEqual([6])
    })

    it('is harmless on an empty buffer', () => {
      const buffer = new ReplayBuffer(5, 1000)
      buffer.clear()
      expect(buffer.nextSeq).toBe(1)
      expect(buffer.ack(0)).toBe(true)
      expect(buffer.ack(1)).toBe(false)
    })
  })
})

// ---------------------------------------------------------------------------------------------------
// Property: a ReplayBuffer against a plain array model, over arbitrary appends, acks, reads and clears.

type RefModel = { frames: { seq: number; frame: string }[]; nextSeq: number; ackedSeq: number }

type BufferCommand = fc.Command<RefModel, ReplayBuffer>

class AppendMany implements BufferCommand {
  constructor(readonly n: number) {}
  check = () => true
  run(m: RefModel, b: ReplayBuffer) {
    for (let i = 0; i < this.n; i++) {
      const frame = frameFor(m.nextSeq)
      expect(b.append(frame)).toBe(m.nextSeq)
      m.frames.push({ seq: m.nextSeq++, frame })
    }
    expectSame(m, b)
  }
  toString = () => `append(${this.n})`
}

class AckTo implements BufferCommand {
  /** `offset` is relative to the model's lastSeq so acks land near the interesting edge. */
  constructor(readonly offset: number) {}
  check = () => true
  run(m: RefModel, b: ReplayBuffer) {
    const ack = m.nextSeq - 1 + this.offset
    const ok = ack <= m.nextSeq - 1
    expect(b.ack(ack)).toBe(ok)
    if (ok && ack > m.ackedSeq) {
      m.ackedSeq = ack
      m.frames = m.frames.filter((f) => f.seq > ack)
    }
    expectSame(m, b)
  }
  toString = () => `ack(last${this.offset >= 0 ? '+' : ''}${this.offset})`
}

class ReadAfter implements BufferCommand {
  constructor(
    readonly back: number,
    readonly limit: number,
  ) {}
  check = () => true
  run(m: RefModel, b: ReplayBuffer) {
    const after = m.nextSeq - 1 - this.back
    const expected = m.frames.filter((f) => f.seq > after).slice(0, this.limit)
    expect(b.framesAfter(after, this.limit)).toEqual(expected.map((f) => f.frame))
  }
  toString = () => `framesAfter(last-${this.back}, ${this.limit})`
}

class Clear implements BufferCommand {
  check = () => true
  run(m: RefModel, b: ReplayBuffer) {
    b.clear()
    m.frames = []
    m.ackedSeq = m.nextSeq - 1
    expectSame(m, b)
  }
  toString = () => 'clear()'
}

function expectSame(m: RefModel, b: ReplayBuffer) {
  expect(b.nextSeq).toBe(m.nextSeq)
  expect(b.lastSeq).toBe(m.nextSeq - 1)
  expect(b.ackedSeq).toBe(m.ackedSeq)
  expect(b.size).toBe(m.frames.length)
  expect(b.bytes).toBe(m.frames.reduce((n, f) => n + f.frame.length, 0))
  expect(b.framesAfter(m.ackedSeq, 3)).toEqual(m.frames.slice(0, 3).map((f) => f.frame))
}

describe('ReplayBuffer against an array model', () => {
  it('agrees on every append, ack, framesAfter and clear, across compactions', () => {
    const commands = [
      fc.integer({ min: 1, max: 400 }).map((n) => new AppendMany(n)),
      fc.integer({ min: -450, max: 3 }).map((o) => new AckTo(o)),
      fc.integer({ min: -450, max: 3 }).map((o) => new AckTo(o)),
      fc.tuple(fc.integer({ min: -3, max: 500 }), fc.integer({ min: 0, max: 5 })).map(([k, l]) => new ReadAfter(k, l)),
      fc.constant(new Clear()),
    ]
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 80 }), (cmds) => {
        const model: RefModel = { frames: [], nextSeq: 1, ackedSeq: 0 }
        const buffer = new ReplayBuffer(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        fc.modelRun(() => ({ model, real: buffer }), cmds)
        expect(buffer.framesAfter(model.ackedSeq)).toEqual(model.frames.map((f) => f.frame))
      }),
      { numRuns: 100 },
    )
  })
})

// ---------------------------------------------------------------------------------------------------
// Property: a sender (ReplayBuffer) and a receiver (`last` + classifySeq) over a lossy link that drops,
// duplicates and reorders frames and acks, with reattaches. Exactly once, in order, bounded buffer.

type Limits = { maxFrames: number; maxBytes: number; respectHasRoom: boolean }

class Link {
  readonly buffer: ReplayBuffer
  /** Frames on the wire, sender to receiver. */
  frames: string[] = []
  /** Ack values on the wire, receiver to sender. */
  acks: number[] = []
  /** Receiver: highest seq delivered, and everything delivered in delivery order. */
  last = 0
  delivered: number[] = []
  /** Sends the owner refused because hasRoom said no. */
  refused = 0

  constructor(readonly limits: Limits) {
    this.buffer = new ReplayBuffer(limits.maxFrames, limits.maxBytes)
  }

  receive(frame: string) {
    const seq = seqOf(frame)
    // Never a frame beyond what was sent.
    expect(seq).toBeGreaterThanOrEqual(1)
    expect(seq).toBeLessThanOrEqual(this.buffer.lastSeq)
    if (classifySeq(this.last, seq) === 'deliver') {
      this.delivered.push(seq)
      this.last = seq
    }
  }

  /** The receiver states its ack on a new transport; the sender trims and replays after it. */
  reattach(keepOldFrames: boolean, limit: number) {
    if (!keepOldFrames) {
      this.frames = []
      this.acks = []
    }
    expect(this.buffer.ack(this.last)).toBe(true)
    this.frames.push(...this.buffer.framesAfter(this.last, limit))
  }

  checkInvariants(sent: number) {
    const { buffer } = this
    // Exactly once, in order: delivered is 1..last.
    expect(this.delivered.length).toBe(this.last)
    for (let i = 0; i < this.delivered.length; i++) expect(this.delivered[i]).toBe(i + 1)
    expect(buffer.lastSeq).toBe(sent)
    expect(this.last).toBeLessThanOrEqual(sent)
    // The sender only trims what the receiver holds, so every frame it still needs is replayable.
    expect(buffer.ackedSeq).toBeLessThanOrEqual(this.last)
    // The buffer holds exactly the unacked frames, which cover everything the receiver lacks.
    expect(buffer.size).toBe(buffer.lastSeq - buffer.ackedSeq)
    expect(buffer.size).toBeGreaterThanOrEqual(sent - this.last)
    const held = buffer.framesAfter(buffer.ackedSeq)
    expect(seqsOf(held)).toEqual(range(buffer.ackedSeq + 1, buffer.lastSeq))
    expect(buffer.bytes).toBe(held.reduce((n, f) => n + f.length, 0))
    if (this.limits.respectHasRoom) {
      expect(buffer.size).toBeLessThanOrEqual(this.limits.maxFrames)
      expect(buffer.bytes).toBeLessThanOrEqual(this.limits.maxBytes)
    }
  }
}

type LinkModel = { sent: number }
type LinkCommand = fc.Command<LinkModel, Link>

const pick = <T>(items: T[], i: number) => i % items.length

class Send implements LinkCommand {
  constructor(readonly n: number) {}
  check = () => true
  run(m: LinkModel, l: Link) {
    for (let i = 0; i < this.n; i++) {
      const frame = frameFor(l.buffer.nextSeq)
      if (l.limits.respectHasRoom && !l.buffer.hasRoom(frame.length)) {
        l.refused++
        break
      }
      expect(l.buffer.append(frame)).toBe(++m.sent)
      l.frames.push(frame)
    }
    l.checkInvariants(m.sent)
  }
  toString = () => `send(${this.n})`
}

class Deliver implements LinkCommand {
  constructor(readonly i: number) {}
  check = (m: LinkModel) => m.sent > 0
  run(m: LinkModel, l: Link) {
    if (l.frames.length === 0) return
    const [frame] = l.frames.splice(pick(l.frames, this.i), 1)
    l.receive(frame as string)
    l.checkInvariants(m.sent)
  }
  toString = () => `deliver(${this.i})`
}

class Drop implements LinkCommand {
  constructor(readonly i: number) {}
  check = (m: LinkModel) => m.sent > 0
  run(m: LinkModel, l: Link) {
    if (l.frames.length > 0) l.frames.splice(pick(l.frames, this.i), 1)
    l.checkInvariants(m.sent)
  }
  toString = () => `drop(${this.i})`
}

class Duplicate implements LinkCommand {
  constructor(
    readonly i: number,
    readonly at: number,
  ) {}
  check = (m: LinkModel) => m.sent > 0
  run(m: LinkModel, l: Link) {
    if (l.frames.length === 0) return
    const frame = l.frames[pick(l.frames, this.i)] as string
    l.frames.splice(this.at % (l.frames.length + 1), 0, frame)
    l.checkInvariants(m.sent)
  }
  toString = () => `duplicate(${this.i} -> ${this.at})`
}

class Reorder implements LinkCommand {
  constructor(
    readonly i: number,
    readonly j: number,
  ) {}
  check = (m: LinkModel) => m.sent > 0
  run(m: LinkModel, l: Link) {
    if (l.frames.length < 2) return
    const a = pick(l.frames, this.i)
    const b = pick(l.frames, this.j)
    ;[l.frames[a], l.frames[b]] = [l.frames[b] as string, l.frames[a] as string]
    l.checkInvariants(m.sent)
  }
  toString = () => `reorder(${this.i}, ${this.j})`
}

class SendAck implements LinkCommand {
  check = () => true
  run(_m: LinkModel, l: Link) {
    l.acks.push(l.last)
  }
  toString = () => 'sendAck()'
}

class DeliverAck implements LinkCommand {
  constructor(readonly i: number) {}
  check = () => true
  run(m: LinkModel, l: Link) {
    if (l.acks.length === 0) return
    const [ack] = l.acks.splice(pick(l.acks, this.i), 1)
    // Acks arrive late and out of order; an old one is harmless and never refused.
    expect(l.buffer.ack(ack as number)).toBe(true)
    l.checkInvariants(m.sent)
  }
  toString = () => `deliverAck(${this.i})`
}

class DropAck implements LinkCommand {
  constructor(readonly i: number) {}
  check = () => true
  run(_m: LinkModel, l: Link) {
    if (l.acks.length > 0) l.acks.splice(pick(l.acks, this.i), 1)
  }
  toString = () => `dropAck(${this.i})`
}

class ForgedAck implements LinkCommand {
  constructor(readonly beyond: number) {}
  check = () => true
  run(m: LinkModel, l: Link) {
    const { size, ackedSeq } = l.buffer
    expect(l.buffer.ack(m.sent + this.beyond)).toBe(false)
    expect(l.buffer.size).toBe(size)
    expect(l.buffer.ackedSeq).toBe(ackedSeq)
    l.checkInvariants(m.sent)
  }
  toString = () => `forgedAck(sent+${this.beyond})`
}

class Reattach implements LinkCommand {
  constructor(
    readonly keepOldFrames: boolean,
    readonly limit: number,
  ) {}
  check = () => true
  run(m: LinkModel, l: Link) {
    l.reattach(this.keepOldFrames, this.limit)
    l.checkInvariants(m.sent)
  }
  toString = () => `reattach(${this.keepOldFrames ? 'keep' : 'drop'} old, limit ${this.limit})`
}

const linkCommands = [
  fc.integer({ min: 1, max: 5 }).map((n) => new Send(n)),
  fc.integer({ min: 1, max: 5 }).map((n) => new Send(n)),
  fc.nat().map((i) => new Deliver(i)),
  fc.nat().map((i) => new Deliver(i)),
  fc.nat().map((i) => new Deliver(i)),
  fc.nat().map((i) => new Drop(i)),
  fc.tuple(fc.nat(), fc.nat()).map(([i, at]) => new Duplicate(i, at)),
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => new Reorder(i, j)),
  fc.constant(new SendAck()),
  fc.nat().map((i) => new DeliverAck(i)),
  fc.nat().map((i) => new DropAck(i)),
  fc.integer({ min: 1, max: 3 }).map((k) => new ForgedAck(k)),
  fc
    .tuple(fc.boolean(), fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(Number.MAX_SAFE_INTEGER)))
    .map(([keep, limit]) => new Reattach(keep, limit)),
]

describe('sender and receiver over a lossy link', () => {
  it.each<[string, Limits]>([
    ['bounded by frames', { maxFrames: 4, maxBytes: 1_000_000, respectHasRoom: true }],
    ['bounded by bytes', { maxFrames: 1_000, maxBytes: 5 * frameFor(100).length, respectHasRoom: true }],
    ['unbounded', { maxFrames: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, respectHasRoom: false }],
  ])('delivers 1..k exactly once and in order, never beyond what was sent, and everything after a final reattach (%s)', (_label, limits) => {
    let sawRefusal = false
    let sawFullDelivery = false
    fc.assert(
      fc.property(fc.commands(linkCommands, { maxCommands: 60 }), (cmds) => {
        const model: LinkModel = { sent: 0 }
        const link = new Link(limits)
        fc.modelRun(() => ({ model, real: link }), cmds)

        // Whatever is still in flight arrives (or not); then a final reattach replays the rest, page by page.
        while (link.frames.length > 0) link.receive(link.frames.shift() as string)
        link.checkInvariants(model.sent)
        link.reattach(false, 3)
        while (link.frames.length > 0) {
          while (link.frames.length > 0) link.receive(link.frames.shift() as string)
          link.reattach(false, 3)
        }
        link.checkInvariants(model.sent)
        expect(link.last).toBe(model.sent)
        expect(link.delivered).toEqual(range(1, model.sent))
        expect(link.buffer.size).toBe(0)
        expect(link.buffer.bytes).toBe(0)
        sawRefusal ||= link.refused > 0
        sawFullDelivery ||= model.sent > 0
      }),
      { numRuns: 200 },
    )
    // The runs exercised the interesting paths, not only empty schedules.
    expect(sawFullDelivery).toBe(true)
    expect(sawRefusal).toBe(limits.respectHasRoom)
  })
})
