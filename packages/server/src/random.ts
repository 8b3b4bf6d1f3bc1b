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

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** base64url without padding of `bytes[from..to)`, as Node's `Buffer.toString('base64url')` writes it. */
export function toBase64Url(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let out = ''
  let i = from
  for (; i + 2 < to; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const left = to - i
  if (left === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}
