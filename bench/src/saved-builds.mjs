// What the A/B tools (ab.mjs, flood-ab.mjs, connect-ab.mjs) share: where `node src/ab.mjs save
// NAME` keeps a build, the module entries of a saved build, and their `--name=value` options.
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
