import { MAX_BATCH_FRAMES } from './constants.js'
import { SwitchboardError } from './errors.js'
import { FrameType, type ChannelFrameType, type ClientFrame, type RequestType, type ServerFrame } from './frame.js'
import { assertClientFrame, assertServerFrame } from './validate.js'

/**
 * A batch is a JSON array of frames: one WebSocket message, one SSE event or one HTTP body.
 * Frames are kept as encoded strings end to end, so a publish is encoded once and every
 * session only wraps it with its own seq (see encodeMessage).
 */

/** Encodes one frame. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame)
}

/** Joins encoded frames into one batch; no re-encoding. */
export function encodeBatch(frames: readonly string[]): string {
  return frames.length <= 1 ? wrapBatch('', frames[0] ?? '') : joinBatch(frames.slice())
}

/**
 * Joins `control` (control frames joined with commas, or '') and encoded frames into one batch in
 * one pass, brackets included, changing `parts` (the caller's own copy). A batch wrapped around a
 * join is a rope, which the socket's write copies again to flatten it (a server echoing 10,000
 * calls of 4 KiB allocated 12% less this way).
 */
export function joinBatch(parts: string[], control = ''): string {
  if (parts.length <= 1) return wrapBatch(control, parts[0] ?? '')
  parts[0] = control === '' ? `[${parts[0]}` : `[${control},${parts[0]}`
  parts[parts.length - 1] += ']'
  return parts.join(',')
}

/** The heartbeat frames, encoded once: either side sends them with nearly no other work. */
export const PING_FRAME = encodeFrame([FrameType.PING])
export const PONG_FRAME = encodeFrame([FrameType.PONG])

/** `[[4]]`: a batch of one PONG, the answer to a probe on WebSocket and SSE (matched as text). */
export const PROBE_ANSWER = encodeBatch([PONG_FRAME])

/**
 * The control part of a batch: the `queued` control frames (WELCOME, PING, PONG: rare), then
 * `ack` (an ACK frame, or '' for none), joined with commas; '' when there are neither. The ack
 * alone, the usual case, is returned as it is.
 */
export function joinControl(queued: readonly string[], ack: string): string {
  if (queued.length === 0) return ack
  const head = queued.length === 1 ? queued[0]! : queued.join(',')
  return ack === '' ? head : `${head},${ack}`
}

/**
 * One batch of control frames (unsequenced: WELCOME, ACK, PING, PONG) then data frames, each side
 * already joined with commas, either side possibly empty. Wrapping makes a rope: fine for one
 * frame (ReplayBuffer.batchAfter joins more with joinBatch).
 */
export function wrapBatch(control: string, data: string): string {
  if (control === '') return `[${data}]`
  if (data === '') return `[${control}]`
  return `[${control},${data}]`
}

/** Encodes message data; `undefined` travels as null. Done once per publish. */
export function encodeData(data: unknown): string {
  // JSON.stringify answers undefined for undefined, functions, symbols and toJSON() => undefined.
  return JSON.stringify(data) ?? 'null'
}

/**
 * The per-publish part of a MESSAGE frame, encoded once per publish:
 * `"channel",data,offset` (a JSON list body without brackets). `dataJson` comes from encodeData.
 */
export function joinMessageBody(channel: string, dataJson: string, offset: number): string {
  return `${JSON.stringify(channel)},${dataJson},${offset}`
}

/**
 * joinMessageBody without its offset: `messageBodyHead(c, d) + offset` is the same body. For a
 * broker that assigns the offset where it stores the message (a Redis script), after the node
 * encoded the rest once.
 */
export function messageBodyHead(channel: string, dataJson: string): string {
  return `${JSON.stringify(channel)},${dataJson},`
}

/** encodeData + joinMessageBody in one step. */
export function encodeMessageBody(channel: string, data: unknown, offset: number): string {
  return joinMessageBody(channel, encodeData(data), offset)
}

/** A PUBLISH or CALL frame from pre-encoded parts (the data was already encoded to check its size). */
export function encodeRequest(type: RequestType, seq: number, nameJson: string, dataJson: string): string {
  return `[${type},${seq},${nameJson},${dataJson}]`
}

/** An ACK frame: built as text, it goes out with nearly every batch. */
export function encodeAck(ack: number): string {
  return `[2,${ack}]`
}

/** A MESSAGE frame from a pre-encoded body: only the seq is per session. */
export function encodeMessage(seq: number, body: string): string {
  return `[20,${seq},${body}]`
}

/** A MESSAGE or GAP frame from its pre-encoded body. */
export function encodeChannelFrame(type: ChannelFrameType, seq: number, body: string): string {
  // MESSAGE, on every subscriber's path, as a constant head; GAP is rare.
  return type === FrameType.MESSAGE ? encodeMessage(seq, body) : `[${type},${seq},${body}]`
}

/** A MESSAGE body (joinMessageBody) marked as replacing the `skipped` messages before it. */
export function markSkipped(body: string, skipped: number): string {
  return `${body},${skipped}`
}

/** The body of a GAP frame: `channel`'s offsets `from`..`to` will not come. */
export function encodeGapBody(channel: string, from: number, to: number): string {
  return `${JSON.stringify(channel)},${from},${to}`
}

function parseBatch(text: string, maxFrames: number): unknown[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new SwitchboardError('MALFORMED_FRAME', 'Malformed batch: not JSON', { cause })
  }
  if (!Array.isArray(value)) throw new SwitchboardError('MALFORMED_FRAME', 'Malformed batch: not an array')
  if (value.length > maxFrames) throw new SwitchboardError('BATCH_TOO_LARGE', `A batch holds ${value.length} frames; the limit is ${maxFrames}`)
  return value
}

/** Decodes and validates a batch sent by a client. Throws a SwitchboardError (MALFORMED_FRAME, BATCH_TOO_LARGE). */
export function decodeClientBatch(text: string, maxFrames: number = MAX_BATCH_FRAMES): ClientFrame[] {
  const frames = parseBatch(text, maxFrames)
  for (let i = 0; i < frames.length; i++) assertClientFrame(frames[i])
  return frames as ClientFrame[]
}

/** Decodes and validates a batch sent by a server. Throws a SwitchboardError (MALFORMED_FRAME). */
export function decodeServerBatch(text: string): ServerFrame[] {
  const frames = parseBatch(text, Number.MAX_SAFE_INTEGER)
  for (let i = 0; i < frames.length; i++) assertServerFrame(frames[i])
  return frames as ServerFrame[]
}

/** UTF-8 byte length of a string, without allocating. */
export function utf8Length(s: string): number {
  let bytes = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++, (bytes += 2)
    else bytes += 2 // BMP character, or a lone surrogate (3 bytes, as Buffer.byteLength counts it)
  }
  return bytes
}

/** True when `s` is longer than `limit` UTF-8 bytes; exact, but skips counting when the length alone decides. */
export function exceedsBytes(s: string, limit: number, byteLength: (s: string) => number = utf8Length): boolean {
  if (s.length > limit) return true
  if (s.length * 3 <= limit) return false
  return byteLength(s) > limit
}

/** Bytes left for data frames in a batch of `maxBytes` that already holds `control` (joined control frames, ASCII). */
export function batchRoom(maxBytes: number, control: string): number {
  return control === '' ? maxBytes : maxBytes - control.length - 1
}

/**
 * How many of `frames[from..end)` go in one batch of at most `maxBytes` UTF-8 bytes (brackets and
 * commas included): the end index of that run, and always at least one frame, so a frame is never
 * held back. Counts 3 bytes per UTF-16 unit (an upper bound, no scan) until that bound passes
 * `maxBytes`, and only then measures exactly: small batches cost nothing. `sizes[i]`, where set
 * (not 0), is frame i's size as its owner gave it, and is taken without reading the frame.
 * Without sizes (small frames), the run that fits by characters (a lower bound: a character takes
 * a byte at least) is measured first in one call on its join: all ASCII, it is the batch.
 */
export function fitBatch(
  frames: readonly string[],
  from: number,
  end: number,
  maxBytes: number,
  byteLength: (s: string) => number = utf8Length,
  sizes?: readonly number[],
): number {
  let bytes = 1
  // The same run counted one byte a character: a lower bound.
  let chars = 1
  let i = from
  for (; i < end; i++) {
    const length = frames[i]!.length
    const next = bytes + length * 3 + 1
    if (next > maxBytes) break
    bytes = next
    chars += length + 1
  }
  if (i >= end) return end
  if (sizes === undefined) {
    let k = i
    for (; k < end; k++) {
      chars += frames[k]!.length + 1
      if (chars > maxBytes) break
    }
    if (k > from) {
      const run = k - from === 1 ? frames[from]! : frames.slice(from, k).join(',')
      // All ASCII: each frame takes as many bytes as characters, and frame k did not fit by those.
      if (byteLength(run) === run.length) return k
    }
  }
  bytes = 1
  for (let j = from; j < i; j++) bytes += (sizes?.[j] || byteLength(frames[j]!)) + 1
  for (; i < end; i++) {
    const next = bytes + (sizes?.[i] || byteLength(frames[i]!)) + 1
    if (next > maxBytes) break
    bytes = next
  }
  return Math.max(i, from + 1)
}
