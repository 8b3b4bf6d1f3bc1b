// Reads a .cpuprofile and answers where the time went: self time per function (mapped back to
// TypeScript sources for Switchboard's bundles) and per area (ours, hono, ws, undici, node, GC).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { original } from './sourcemap.mjs'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

function area(fn, url) {
  if (fn === '(idle)') return 'idle'
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)' || fn === '(root)') return 'V8 / program'
  const m = /\/(?:packages|@switchboard)\/(server|client|protocol)\//.exec(url)
  if (m) return `switchboard ${m[1]}`
  if (url.includes('/bench/src/')) return 'bench harness'
  if (url.includes('@hono/node-server')) return '@hono/node-server'
  if (url.includes('/node_modules/hono/')) return 'hono'
  if (url.includes('/node_modules/ws/')) return 'ws'
  if (url.includes('eventsource-parser')) return 'eventsource-parser'
  if (url.includes('node:internal/deps/undici')) return 'undici (fetch)'
  if (url.startsWith('node:')) return 'node core (JS)'
  if (url === '') return 'native (syscalls, builtins)'
  return 'other'
}

function where(cf) {
  if (!cf.url) return ''
  if (cf.url.startsWith('node:')) return `${cf.url}:${cf.lineNumber + 1}`
  const file = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url
  const o = /\/(?:packages|@switchboard)\/[^/]+\/dist\//.test(file) ? original(file, cf.lineNumber, cf.columnNumber) : null
  const shown = o ? `${path.relative(ROOT, o.source)}:${o.line}` : `${path.relative(ROOT, file)}:${cf.lineNumber + 1}`
  // Sources of the run's snapshot (see snapshot.mjs) are shown where they live in the repo.
  return shown.replace(/^bench\/results\/tmp\/snapshot\/node_modules\/@switchboard\//, 'packages/').replace(/^node_modules\//, '')
}

/** @returns {{ totalMs: number, busyMs: number, functions: { fn: string, where: string, area: string, ms: number }[], areas: { area: string, ms: number }[] }} */
export function summarizeProfile(file, window) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'))
  const self = new Map()
  // Sample i was taken at startTime + timeDeltas[0..i]; its weight is the gap to the next one.
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    const weight = p.timeDeltas[i + 1] ?? 0
    if (window && (t < window.startUs || t > window.endUs)) continue
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + weight)
  }
  const byFn = new Map()
  for (const n of p.nodes) {
    const us = self.get(n.id)
    if (!us) continue
    const cf = n.callFrame
    const fn = cf.functionName || '(anonymous)'
    const key = `${fn}|${cf.url}|${cf.lineNumber}|${cf.columnNumber}`
    const row = byFn.get(key) ?? { fn, where: where(cf), area: area(fn, cf.url), ms: 0 }
    row.ms += us / 1000
    byFn.set(key, row)
  }
  const functions = [...byFn.values()].sort((a, b) => b.ms - a.ms)
  const areas = new Map()
  for (const f of functions) areas.set(f.area, (areas.get(f.area) ?? 0) + f.ms)
  const totalMs = functions.reduce((s, f) => s + f.ms, 0)
  const busyMs = totalMs - (areas.get('idle') ?? 0)
  return { totalMs, busyMs, functions, areas: [...areas].map(([a, ms]) => ({ area: a, ms })).sort((a, b) => b.ms - a.ms) }
}

/** Markdown: areas and the top functions by self time, as % of busy (non-idle) time. */
export function profileMarkdown(title, s, top = 20) {
  const pct = (ms) => `${((ms / s.busyMs) * 100).toFixed(1)}%`
  const out = [
    `### ${title}`,
    '',
    `Measured phase only: busy ${Math.round(s.busyMs)} ms of ${Math.round(s.totalMs)} ms sampled. Shares are of busy (non-idle) time.`,
    '',
  ]
  out.push('| area | self | share |', '| --- | ---: | ---: |')
  for (const a of s.areas.filter((x) => x.area !== 'idle')) out.push(`| ${a.area} | ${Math.round(a.ms)} ms | ${pct(a.ms)} |`)
  out.push('', '| function | where | area | self | share |', '| --- | --- | --- | ---: | ---: |')
  for (const f of s.functions.filter((x) => x.area !== 'idle').slice(0, top))
    out.push(`| \`${f.fn}\` | ${f.where} | ${f.area} | ${f.ms.toFixed(1)} ms | ${pct(f.ms)} |`)
  return out.join('\n')
}
