// Maps a generated position (0-based line and column) in a bundled dist file back to its
// TypeScript source through the `.map` next to it. Source map v3, base64 VLQ mappings.
import fs from 'node:fs'
import path from 'node:path'

const B64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]))

function decodeVlq(str) {
  const out = []
  let value = 0
  let shift = 0
  for (const ch of str) {
    const digit = B64.get(ch)
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return out
}

/** @returns {null | ((line: number, column: number) => { source: string, line: number } | null)} */
function load(file) {
  let map
  try {
    map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8'))
  } catch {
    return null
  }
  const lines = []
  let src = 0
  let srcLine = 0
  for (const lineText of map.mappings.split(';')) {
    const segs = []
    let col = 0
    for (const seg of lineText.split(',')) {
      if (!seg) continue
      const v = decodeVlq(seg)
      col += v[0]
      if (v.length >= 4) {
        src += v[1]
        srcLine += v[2] // v[3], the source column, is not needed
        segs.push([col, src, srcLine])
      }
    }
    lines.push(segs)
  }
  const root = path.dirname(file)
  return (line, column) => {
    const segs = lines[line]
    if (!segs || segs.length === 0) return null
    let best = segs[0]
    for (const s of segs) if (s[0] <= column) best = s
    return { source: path.resolve(root, map.sourceRoot ?? '', map.sources[best[1]]), line: best[2] + 1 }
  }
}

const cache = new Map()

/** The original `{ source, line }` for a position in `file` (an absolute path), or null. */
export function original(file, line, column) {
  if (!cache.has(file)) cache.set(file, load(file))
  return cache.get(file)?.(line, column) ?? null
}
