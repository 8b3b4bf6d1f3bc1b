/**
 * Random bytes are drawn from the Web Crypto API (Node 20, Deno, Bun and Workers all have it) 4 KiB
 * at a time and handed out once each: a new session takes 40 bytes (its id and its token), and one
 * call per session cost more than the bytes themselves.
 */
const POOL_BYTES = 4096
const pool = new Uint8Array(POOL_BYTES)
let used = POOL_BYTES

/**
 * `byteCount` (at most 4096) random bytes as base64url without padding (16 bytes: 22 characters).
 * No byte is ever given out twice.
 */
export function createRandomId(byteCount: number): string {
  if (used + byteCount > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool)
    used = 0
  }
  const id = toBase64Url(pool, used, used + byteCount)
  used += byteCount
  return id
}

/** The base64url alphabet as character codes. */
const ALPHABET = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (c) => c.charCodeAt(0))
/** Where an id's characters are written before they become one string (grown when too small). */
let chars = new Uint8Array(64)
const ascii = new TextDecoder()

/**
 * base64url without padding of `bytes[from..to)`, as Node's `Buffer.toString('base64url')` writes it.
 * Its characters are written as bytes and decoded once: appended one by one, a 22-character id
 * left 17 intermediate strings behind (1.3 KB of the 27 KB a WebSocket connect allocated).
 */
export function toBase64Url(bytes: Uint8Array, from = 0, to = bytes.length): string {
  const length = Math.ceil(((to - from) * 4) / 3)
  if (chars.length < length) chars = new Uint8Array(length)
  const out = chars
  let o = 0
  let i = from
  for (; i + 2 < to; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o++] = ALPHABET[n >> 18]!
    out[o++] = ALPHABET[(n >> 12) & 63]!
    out[o++] = ALPHABET[(n >> 6) & 63]!
    out[o++] = ALPHABET[n & 63]!
  }
  const left = to - i
  if (left > 0) {
    const n = (bytes[i]! << 16) | (left === 2 ? bytes[i + 1]! << 8 : 0)
    out[o++] = ALPHABET[n >> 18]!
    out[o++] = ALPHABET[(n >> 12) & 63]!
    if (left === 2) out[o++] = ALPHABET[(n >> 6) & 63]!
  }
  return ascii.decode(out.subarray(0, o))
}
