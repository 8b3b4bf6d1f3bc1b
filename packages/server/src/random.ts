/**
 * `byteCount` random bytes as base64url without padding (16 bytes: 22 characters), from the Web
 * Crypto API that Node 20, Deno, Bun and Workers all have.
 */
export function createRandomId(byteCount: number): string {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(byteCount)))
}

/** base64url without padding, as Node's `Buffer.toString('base64url')` writes it (btoa is in every runtime). */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
