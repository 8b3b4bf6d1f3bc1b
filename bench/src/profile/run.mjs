// --profile: runs Switchboard's burst and fan-out scenarios with `node --cpu-prof` on both the
// server and the client process, and writes results/profile.md (raw profiles stay in results/tmp).
import fs from 'node:fs'
import path from 'node:path'
import { scenarios } from '../config.mjs'
import { machine } from '../machine.mjs'
import { machineLine } from '../report/markdown.mjs'
import { runGroup } from '../run-one.mjs'
import { targetById } from '../targets.mjs'
import { profileMarkdown, summarizeProfile } from './summarize.mjs'

const PROFILED = [
  ['latency', 'sb-ws'],
  // The floor, for reference: how much of a round trip is ws and the kernel.
  ['latency', 'raw-ws'],
  ['latency', 'sb-sse'],
  ['latency', 'sb-lp'],
  ['burst-64', 'sb-ws'],
  ['burst-4k', 'sb-ws'],
  ['burst-64k', 'sb-ws'],
  // No window, from a cold process: what a user's loop of sends costs, beside raw ws's floor.
  ['flood-64', 'sb-ws'],
  ['flood-4k', 'sb-ws'],
  ['flood-4k', 'raw-ws'],
  ['fanout', 'sb-ws'],
  // The HTTP lines' floods (two POSTs in flight, answers carrying replies), beside Socket.IO polling's.
  ['flood-64', 'sb-sse'],
  ['flood-4k', 'sb-sse'],
  ['flood-4k', 'sb-lp'],
  ['flood-4k', 'sio-polling'],
  ['burst-64', 'sb-sse'],
  ['burst-64', 'sb-lp'],
  ['fanout', 'sb-sse'],
  ['fanout', 'sb-lp'],
  ['scale', 'sb-ws'],
  ['scale', 'raw-ws'],
]

export async function profile({ pin, bench, switchboard, scenarios: only, targets }) {
  const dir = path.join(bench, 'results/tmp/profiles')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const all = scenarios({ quick: false })
  const sections = []
  const picked = PROFILED.filter(([sid, tid]) => (!only || only.includes(sid)) && (!targets || targets.includes(tid)))
  // A subset is for development: it leaves the committed results/profile.md alone.
  const subset = picked.length < PROFILED.length
  for (const [sid, tid] of picked) {
    let s = all.find((x) => x.id === sid)
    // The connect phase of 2,000 sessions is plenty to see where connecting goes.
    if (sid === 'scale') s = { ...s, title: `${s.title} (connect phase, 2,000 sessions)`, params: { ...s.params, sessions: 2000, windowMs: 1000 } }
    // A round trip is a few tens of microseconds of CPU: 20,000 of them give the 1 ms sampler enough samples.
    if (sid === 'latency') s = { ...s, title: `${s.title} (20,000 round trips)`, params: { ...s.params, count: 20_000 } }
    const t = targetById(tid)
    const name = `${sid}-${tid}`
    const [res] = await runGroup({ target: t, scenarios: [s], pin, switchboard, profile: { dir, name } })
    const headline = res.metrics?.msgsPerSec ?? res.metrics?.deliveriesPerSec
    console.log(`profiled ${name}: ${res.ok ? 'ok' : `FAILED ${res.error}`}${headline ? ` (${Math.round(headline)}/s under the profiler)` : ''}`)
    for (const side of ['server', 'client']) {
      const file = path.join(dir, `${name}-${side}.cpuprofile`)
      if (!fs.existsSync(file)) {
        sections.push(`### ${name}, ${side}\n\nNo profile written (${res.error ?? 'process did not exit normally'}).`)
        continue
      }
      sections.push(profileMarkdown(`${s.title}, ${t.label}: ${side} process`, summarizeProfile(file, res.metrics?.phase)))
    }
  }
  const md = [
    '# CPU profiles of Switchboard hot paths',
    '',
    `\`npm run bench -- --profile\` on ${machineLine({ machine: machine() })}. Each scenario runs once under \`node --cpu-prof\` (server and client process); only the samples taken during the measured phase (after connects and warm-up; for scale, the connect phase) are counted; functions are mapped back to \`packages/*/src\` through the dist source maps. Raw \`.cpuprofile\` files: \`bench/results/tmp/profiles/\` (open them in Chrome DevTools or speedscope).`,
    '',
    ...sections.flatMap((x) => [x, '']),
  ].join('\n')
  const out = path.join(bench, subset ? 'results/tmp/profile.md' : 'results/profile.md')
  fs.writeFileSync(out, md)
  console.log(`wrote ${out}`)
}
