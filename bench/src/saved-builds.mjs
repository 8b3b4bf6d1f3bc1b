// What the A/B tools (ab.mjs, flood-ab.mjs, connect-ab.mjs) share: where `node src/ab.mjs save
// NAME` keeps a build, the module entries of a saved build, their `--name=value` options, the
// pair-after-pair loop and the client process pinned to CPU 1.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeEntry } from './snapshot.mjs'

export const AB_DIR = fileURLToPath(new URL('../results/tmp/ab', import.meta.url))

/** The server and client entries of the build saved as `name`. */
export function savedBuild(name) {
  const base = path.join(AB_DIR, name, 'node_modules/@switchboard')
  return { server: nodeEntry(path.join(base, 'server')), client: nodeEntry(path.join(base, 'client')) }
}

/** The value of `--name=value` in `argv`, or `fallback`. */
export function option(argv, name, fallback) {
  const hit = argv.find((a) => a.startsWith(`--${name}=`))
  return hit ? hit.slice(name.length + 3) : fallback
}

/**
 * Runs `once(target)` for every target, pair after pair (so a slow minute of this VM hits them
 * all), printing `line(target, result, pair)` for each; resolves with every target's results.
 */
export async function alternate(targets, pairs, once, line) {
  const results = new Map(targets.map((t) => [t, []]))
  for (let p = 0; p < pairs; p++) {
    for (const target of targets) {
      const r = await once(target)
      results.get(target).push(r)
      console.log(`pair ${p + 1}  ${target.padEnd(10)} ${line(r)}`)
    }
  }
  return results
}

/**
 * Runs `node [flags] script client <spec as JSON>` on CPU 1 and resolves with the JSON its stdout
 * ends with. Lines before it (Node flags such as --trace-gc print there) go on to stderr.
 */
export function pinnedClient(script, spec, flags = []) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', process.execPath, ...flags, script, 'client', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let text = ''
    child.stdout.on('data', (d) => (text += d))
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${path.basename(script)} client exited with ${code}`))
      const last = text.lastIndexOf('\n') + 1
      if (last > 0) process.stderr.write(text.slice(0, last))
      resolve(JSON.parse(text.slice(last)))
    })
  })
}
