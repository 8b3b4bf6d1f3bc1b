// The browser matrix's choice of engines (SWITCHBOARD_BROWSERS) and its result table.
import fs from 'node:fs'
import path from 'node:path'
import { ENGINES, type Engine } from '../helpers/browsers.js'

export const BROWSERS_ENV = 'SWITCHBOARD_BROWSERS'

/**
 * The engines to run: all of them by default, or the comma-separated list in SWITCHBOARD_BROWSERS
 * (`chromium,firefox`) for a machine where one cannot be installed. A name that is not an engine
 * is an error, so a typo never turns into a silent skip.
 */
export function selectEngines(value = process.env[BROWSERS_ENV]): { selected: Engine[]; skipped: Engine[] } {
  if (value === undefined || value.trim() === '' || value.trim() === 'all') return { selected: [...ENGINES], skipped: [] }
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
  const unknown = names.filter((n) => !(ENGINES as readonly string[]).includes(n))
  if (unknown.length || names.length === 0)
    throw new Error(
      `${BROWSERS_ENV}=${value}: unknown browser ${unknown.join(', ') || '(none given)'}; use a comma-separated list of ${ENGINES.join(', ')}, or all`,
    )
  const selected = ENGINES.filter((e) => names.includes(e))
  return { selected, skipped: ENGINES.filter((e) => !selected.includes(e)) }
}

export function skipBanner(skipped: readonly Engine[]): string {
  const lines = [
    `BROWSERS SKIPPED: ${skipped.join(', ')} (${BROWSERS_ENV}=${process.env[BROWSERS_ENV]})`,
    'Their matrix cells were NOT run: this run says nothing about them.',
  ]
  const width = Math.max(...lines.map((l) => l.length)) + 8
  const bar = '!'.repeat(width)
  return ['', bar, ...lines.map((l) => `!!  ${l.padEnd(width - 8)}  !!`), bar, ''].join('\n')
}

export interface CellResult {
  engine: Engine
  network: string
  expected: string
  transport?: string
  /** Navigation start -> the page is open and in its room. */
  connectMs?: number
  /** Navigation start -> the first message from the Node client is in the page. */
  firstMessageMs?: number
  /** The cut -> the messages sent during the outage have crossed both ways. */
  recoverMs?: number
  /** Browser connections reset by the cut and during the outage after it. */
  cutConnections?: number
  result: 'passed' | 'FAILED' | 'skipped'
  note?: string
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`)

/** The matrix as a fixed-width table: one row per cell. */
export function formatTable(results: readonly CellResult[], versions: Partial<Record<Engine, string>>): string {
  const head = ['browser', 'network', 'expected', 'transport', 'connect', 'first msg', 'cut', 'recovered', 'result']
  const rows = results.map((r) => [
    versions[r.engine] ? `${r.engine} ${versions[r.engine]}` : r.engine,
    r.network,
    r.expected,
    r.transport ?? '-',
    ms(r.connectMs),
    ms(r.firstMessageMs),
    r.cutConnections === undefined ? '-' : `${r.cutConnections} reset`,
    ms(r.recoverMs),
    r.note ? `${r.result}: ${r.note}` : r.result,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === 8 ? 0 : row[i]!.length))))
  const format = (row: string[]) => row.map((cell, i) => (i === 8 ? cell : cell.padEnd(widths[i]!))).join('  ')
  return [format(head), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format)].join('\n')
}

/** Prints the table and writes it (and the raw results) next to the screenshots. */
export function reportMatrix(dir: string, results: readonly CellResult[], versions: Partial<Record<Engine, string>>, totalMs: number): void {
  const table = formatTable(results, versions)
  const failed = results.filter((r) => r.result === 'FAILED').length
  const passed = results.filter((r) => r.result === 'passed').length
  const skipped = results.filter((r) => r.result === 'skipped').length
  const summary = `${passed} passed, ${failed} failed, ${skipped} skipped; matrix took ${(totalMs / 1000).toFixed(1)} s`
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'matrix.txt'), `${table}\n\n${summary}\n`)
  fs.writeFileSync(path.join(dir, 'matrix.json'), `${JSON.stringify({ versions, results, totalMs }, null, 2)}\n`)
  console.log(`\n==== browser x network matrix ${'='.repeat(47)}\n\n${table}\n\n${summary}\n(also in ${path.join(dir, 'matrix.txt')})\n`)
}
