import { utf8Length } from '@switchboard/protocol'

const nodeBuffer = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer
const encoder = typeof TextEncoder === 'function' ? new TextEncoder() : undefined
let scratch: Uint8Array | undefined

/**
 * UTF-8 size of `s`, counted natively where the platform can: `Buffer.byteLength` in Node,
 * `TextEncoder.encodeInto` into a reused buffer in browsers. Short strings are counted in JS.
 */
export function byteLength(s: string): number {
  if (s.length < 128) return utf8Length(s)
  if (nodeBuffer) return nodeBuffer.byteLength(s)
  if (!encoder) return utf8Length(s)
  if (!scratch || scratch.length < s.length * 3) scratch = new Uint8Array(s.length * 3)
  return encoder.encodeInto(s, scratch).written
}
