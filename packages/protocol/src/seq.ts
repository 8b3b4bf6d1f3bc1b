import { fitBatch, joinBatch, utf8Length, wrapBatch } from './codec.js'

/**
 * Sequence and ack rules, the same in both directions.
 *
 * The sender numbers its data frames 1, 2, 3... and keeps every frame in a ReplayBuffer until
 * the peer acks it (acks are cumulative: "I hold everything up to n"). On every (re)attach the
 * peer states its ack and the sender replays the buffer after it. The receiver delivers only the
 * next seq in line: anything at or below its ack is a duplicate, anything beyond is a gap that
 * the replay will fill. Together: exactly once, in order, over any mix of drops, duplicates,
 * reorders and reattaches, as long as the buffer holds.
 */

export type SeqVerdict = 'deliver' | 'duplicate' | 'gap'

/** What a receiver that has delivered everything up to `last` does with `seq`. */
export function classifySeq(last: number, seq: number): SeqVerdict {
  if (seq === last + 1) return 'deliver'
  return seq <= last ? 'duplicate' : 'gap'
}

/**
 * What an empty buffer holds instead of an array of its own (a session's buffer is empty most
 * of its life, and idle memory per session counts). Never written: `append` replaces it first.
 */
const NO_FRAMES: string[] = []

/**
 * Sent-but-unacked frames, oldest first, with seqs assigned by `append`.
 * Bounded by frames and bytes: the owner checks `hasRoom` (or `admits`) first and decides what
 * overflow means (the server applies a channel's slow-consumer policy, the client makes the
 * request wait).
 */
export class ReplayBuffer {
  #maxFrames: number
  #maxBytes: number
  #frames: string[] = NO_FRAMES
  /** Index in #frames of the oldest unacked frame; the array is compacted lazily to keep ack O(1). */
  #head = 0
  /** Seq of #frames[#head]. */
  #headSeq = 1
  #bytes = 0
  #byteLength: (s: string) => number
  /**
   * UTF-8 sizes the owner gave with its frames (see append), beside #frames index for index; 0
   * where none was given. Made by the first size given: sessions of small frames never have it.
   */
  #sizes: number[] | undefined

  /**
   * `byteLength` measures a frame's UTF-8 size when a batch must be cut by bytes (framesAfter);
   * the default is a JS count that runs anywhere, a Node owner can pass `Buffer.byteLength`.
   */
  constructor(maxFrames: number, maxBytes: number, byteLength: (s: string) => number = utf8Length) {
    this.#maxFrames = maxFrames
    this.#maxBytes = maxBytes
    this.#byteLength = byteLength
  }

  get maxFrames(): number {
    return this.#maxFrames
  }

  get maxBytes(): number {
    return this.#maxBytes
  }

  /**
   * New bounds for `hasRoom` (a client's outbox keeps within what its server holds, which it
   * learns after the buffer is made). Frames held past lower bounds stay: new ones wait for acks.
   */
  bound(maxFrames: number, maxBytes: number): void {
    this.#maxFrames = maxFrames
    this.#maxBytes = maxBytes
  }

  /** Seq the next appended frame gets. */
  get nextSeq(): number {
    return this.#headSeq + this.size
  }

  /** Highest seq assigned so far (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1
  }

  /** Highest seq the peer has acked. */
  get ackedSeq(): number {
    return this.#headSeq - 1
  }

  /** Unacked frames held. */
  get size(): number {
    return this.#frames.length - this.#head
  }

  /** Bytes (string length) of unacked frames held. */
  get bytes(): number {
    return this.#bytes
  }

  hasRoom(frameLength: number): boolean {
    return this.size < this.#maxFrames && this.#bytes + frameLength <= this.#maxBytes
  }

  /** hasRoom, or empty: an empty buffer takes one frame of any size (it would never fit otherwise). */
  admits(frameLength: number): boolean {
    return this.size === 0 || this.hasRoom(frameLength)
  }

  /**
   * Adds a frame already encoded with `nextSeq`; returns its seq. `bytes`, its UTF-8 size when the
   * owner knows it from the frame's parts, spares a measure when a batch is cut by bytes. Measuring
   * reads the frame, and V8 first copies a frame built by concatenation into one flat string: that
   * copy of a large frame would live as long as the frame is unacked, and every scavenge meanwhile
   * would copy it again.
   */
  append(frame: string, bytes?: number): number {
    if (bytes !== undefined || this.#sizes !== undefined) {
      const sizes = (this.#sizes ??= new Array<number>(this.#frames.length).fill(0))
      sizes.push(bytes ?? 0)
    }
    if (this.#frames === NO_FRAMES) this.#frames = []
    this.#frames.push(frame)
    this.#bytes += frame.length
    return this.lastSeq
  }

  /**
   * Drops every frame up to `ack`. Returns false, changing nothing, when `ack` names a seq never
   * sent or is not an integer (a peer bug or forgery); an old ack is harmless and ignored.
   */
  ack(ack: number): boolean {
    if (!Number.isSafeInteger(ack) || ack > this.lastSeq) return false
    let drop = ack - this.ackedSeq
    if (drop <= 0) return true
    while (drop-- > 0) {
      this.#bytes -= (this.#frames[this.#head] as string).length
      this.#frames[this.#head++] = ''
    }
    this.#headSeq = ack + 1
    // Emptied: the array (and its acked slots, up to a thousand) goes. Else compacted now and then.
    if (this.#head === this.#frames.length) this.clear()
    else if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head)
      this.#sizes = this.#sizes?.slice(this.#head)
      this.#head = 0
    }
    return true
  }

  /**
   * Frames with seq > `after`, oldest first: at most `limit` of them and, when `maxBytes` is given,
   * as many as fit in a batch of that many UTF-8 bytes (at least one; see fitBatch).
   */
  framesAfter(after: number, limit = Number.MAX_SAFE_INTEGER, maxBytes?: number): string[] {
    const from = this.#head + Math.max(0, after - this.ackedSeq)
    let end = Math.min(this.#frames.length, from + limit)
    if (maxBytes !== undefined) end = fitBatch(this.#frames, from, end, maxBytes, this.#byteLength, this.#sizes)
    return this.#frames.slice(from, end)
  }

  /**
   * How many frames framesAfter(after, limit, maxBytes) would return, without building the list:
   * the flush takes them with batchAfter.
   */
  countAfter(after: number, limit = Number.MAX_SAFE_INTEGER, maxBytes?: number): number {
    const from = this.#head + Math.max(0, after - this.ackedSeq)
    let end = Math.min(this.#frames.length, from + limit)
    if (maxBytes !== undefined && end > from) end = fitBatch(this.#frames, from, end, maxBytes, this.#byteLength, this.#sizes)
    return Math.max(0, end - from)
  }

  /**
   * A batch of `control` (control frames joined with commas, or '') then the first `count` frames
   * with seq > `after`, joined in one pass (see joinBatch). One frame (a round trip's) is wrapped
   * as it is held, with no list built.
   */
  batchAfter(after: number, count: number, control: string): string {
    const from = this.#head + Math.max(0, after - this.ackedSeq)
    const end = Math.min(this.#frames.length, from + count)
    if (end - from <= 1) return wrapBatch(control, end > from ? this.#frames[from]! : '')
    return joinBatch(this.#frames.slice(from, end), control)
  }

  /**
   * Holds `frames` as the unacked frames after `ackedSeq`, replacing anything held: the buffer of a
   * session that moved here from another node, which goes on with the same seqs.
   */
  restore(ackedSeq: number, frames: readonly string[]): void {
    this.#headSeq = ackedSeq + 1
    this.#frames = [...frames]
    this.#sizes = undefined
    this.#head = 0
    this.#bytes = 0
    for (const frame of frames) this.#bytes += frame.length
  }

  /**
   * Forgets every frame (the session is over, or the peer acked them all); seqs go on. No private
   * method for it: those cost a brand field in every instance.
   */
  clear(): void {
    this.#headSeq = this.nextSeq
    this.#frames = NO_FRAMES
    this.#sizes = undefined
    this.#head = 0
    this.#bytes = 0
  }
}
