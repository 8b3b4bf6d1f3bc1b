// Keeps the "Latest full run" block of bench/README.md in step with results/latest.md.
import fs from 'node:fs'
import { BESIDE_INTRO, besideTable } from './beside.mjs'
import { goalsTable } from './goals.mjs'
import { machineLine } from './markdown.mjs'

const START = '<!-- results:start (written by npm run bench; edit outside this block) -->'
const END = '<!-- results:end -->'

export function updateReadme(readmePath, doc, goals, chartFiles) {
  if (!fs.existsSync(readmePath)) return false
  const text = fs.readFileSync(readmePath, 'utf8')
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) return false
  const block = [
    START,
    '',
    `Last full run: ${doc.started.slice(0, 10)}, ${Math.round(doc.durationSec / 60)} min, ${doc.runs} runs per scenario and target.`,
    `Machine: ${machineLine(doc)}.`,
    `Packages: ${Object.entries(doc.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    'Full tables with every metric, range and ratio: [results/latest.md](results/latest.md); raw data: [results/latest.json](results/latest.json).',
    '',
    goalsTable(goals),
    '',
    BESIDE_INTRO,
    '',
    besideTable(doc),
    '',
    `Charts: ${chartFiles.map((f) => `[${f.replace(/^charts\//, '').replace(/\.svg$/, '')}](results/${f})`).join(', ')}.`,
    '',
    END,
  ].join('\n')
  fs.writeFileSync(readmePath, text.slice(0, a) + block + text.slice(b + END.length))
  return true
}
