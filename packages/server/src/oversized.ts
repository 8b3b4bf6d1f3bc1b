import { type CallFrame, type ClientFrame, encodeData, exceedsBytes, FrameType, type PublishFrame } from '@switchboard/protocol'

/** Stands in for the data of a call or publish larger than maxMessageBytes: answered MESSAGE_TOO_LARGE. */
export const OVERSIZED: unique symbol = Symbol('switchboard.oversized')

const isData = (f: ClientFrame): f is PublishFrame | CallFrame => f[0] === FrameType.CALL || f[0] === FrameType.PUBLISH

/**
 * Marks the calls and publishes in a batch of `bytes` whose data exceeds `maxBytes`. A batch with
 * one of them needs no encoding: its data, as sent, is at most the batch less that frame's framing
 * (`[[13,seq,"name",` and `]]`), which is how a client sends one big message. Data in a batch of
 * several is encoded to be measured.
 */
export function markOversized(frames: ClientFrame[], bytes: number, maxBytes: number, byteLength: (s: string) => number): void {
  let data: PublishFrame | CallFrame | undefined
  let count = 0
  for (const f of frames) if (isData(f)) (data = f), count++
  if (count === 0) return
  if (count === 1) {
    const framing = 7 + String(data![0]).length + String(data![1]).length + byteLength(JSON.stringify(data![2]))
    if (bytes - framing <= maxBytes) return
  }
  for (const f of frames) {
    if (!isData(f)) continue
    let json: string
    try {
      json = encodeData(f[3])
    } catch {
      continue // nested too deep to encode again: refused where it would be encoded (a publish)
    }
    if (exceedsBytes(json, maxBytes, byteLength)) (f as unknown[])[3] = OVERSIZED
  }
}
