// Application messages `{ i, d }`: `i` numbers the message, `d` is realistic JSON (records with
// ids, names, words, numbers, tags from a seeded generator), so compression is neither trivial
// nor hopeless. The whole message, JSON-encoded, is at most `size` bytes and at most 16 below.

const WORDS = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november ' +
  'oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu switch board line ' +
  'channel message session replay buffer stream offset epoch publish subscribe presence history'
).split(' ')

/** mulberry32: a small seeded PRNG, so every target gets the same bytes. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function sentence(rand, n) {
  const out = []
  for (let k = 0; k < n; k++) out.push(WORDS[Math.floor(rand() * WORDS.length)])
  return out.join(' ')
}

/** The widest `i` a run uses, so the size bound holds for every message. */
const WIDEST_I = 9_999_999

/** `d` for messages of `size` bytes. */
export function makeData(size, seed = 42) {
  const rand = prng(seed)
  const room = size - JSON.stringify({ i: WIDEST_I, d: '' }).length
  if (room < 200) {
    // Small messages: one line of text.
    const text = sentence(rand, 40)
    return text.slice(0, Math.max(0, room))
  }
  const records = []
  const overhead = JSON.stringify({ i: WIDEST_I, d: [] }).length
  let used = overhead
  for (let id = 1; ; id++) {
    const r = {
      id: 1000 + id,
      user: `${WORDS[Math.floor(rand() * WORDS.length)]}_${Math.floor(rand() * 100)}`,
      text: sentence(rand, 3 + Math.floor(rand() * 8)),
      score: Math.round(rand() * 10000) / 100,
      tags: [WORDS[Math.floor(rand() * WORDS.length)], WORDS[Math.floor(rand() * WORDS.length)]],
      ok: rand() > 0.5,
    }
    const len = JSON.stringify(r).length + (records.length > 0 ? 1 : 0)
    if (used + len > size) {
      // Fill the rest with one padding record of text, so the size is exact to a few bytes.
      const pad = { id: 0, text: '' }
      const padRoom = size - used - JSON.stringify(pad).length - (records.length > 0 ? 1 : 0)
      if (padRoom > 0) records.push({ id: 0, text: sentence(rand, Math.ceil(padRoom / 4)).slice(0, padRoom) })
      return records
    }
    records.push(r)
    used += len
  }
}

/**
 * `n` different payloads of `size` bytes (seeds 42, 43, ...): message `i` carries `pool[i % n]`, so
 * consecutive messages differ and a compressor's 32 KiB window never holds an exact repeat.
 * `shapes[k]` is what the receiver checks for payload `k`.
 */
export function makePool(size, n = 64) {
  const pool = Array.from({ length: n }, (_, k) => makeData(size, 42 + k))
  const shapes = pool.map(shapeOf)
  return { at: (i) => pool[i % n], shapeAt: (i) => shapes[i % n] }
}

/** Encoded length of message `i` with data `d` (for reporting and checks). */
export const messageBytes = (i, d) => JSON.stringify({ i, d }).length

/** A cheap fingerprint of `d` the receiver can check without re-encoding it. */
export const shapeOf = (d) => (typeof d === 'string' ? d.length : d.length)
