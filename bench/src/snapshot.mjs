// A run measures Switchboard as it was built when the run started. The working tree is shared:
// someone else's `npm test` may rebuild packages/*/dist halfway through a 40-minute run. So the
// built packages are copied once into results/tmp/snapshot/node_modules/@switchboard/*, where
// their imports of each other resolve inside the snapshot (and hono, ws, ... from the repo), and
// the bench's server and client import them from there (BENCH_SWITCHBOARD env, read by import.mjs).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PACKAGES = ['protocol', 'server', 'client']

/** Builds @switchboard/server and /client (turbo: cached when nothing changed); throws when it fails. */
export function buildSwitchboard() {
  console.log('building @switchboard/server and @switchboard/client (turbo, cached when unchanged)...')
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
  const r = spawnSync(npx, ['turbo', 'run', 'build', '--filter=@switchboard/server', '--filter=@switchboard/client', '--output-logs=errors-only'], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  if (r.status !== 0) throw new Error('build failed: fix it or run with --no-build')
}

/** Copies the built packages; returns `{ server, client }` file URLs of their ESM entry points. */
export function snapshotSwitchboard(dir = path.join(ROOT, 'bench/results/tmp/snapshot')) {
  const base = path.join(dir, 'node_modules/@switchboard')
  fs.rmSync(dir, { recursive: true, force: true })
  for (const pkg of PACKAGES) {
    const from = path.join(ROOT, 'packages', pkg)
    const to = path.join(base, pkg)
    if (!fs.existsSync(path.join(from, 'dist'))) throw new Error(`packages/${pkg}/dist is missing: build first (npx turbo run build)`)
    fs.mkdirSync(to, { recursive: true })
    fs.copyFileSync(path.join(from, 'package.json'), path.join(to, 'package.json'))
    fs.cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true })
  }
  return { server: nodeEntry(path.join(base, 'server')), client: nodeEntry(path.join(base, 'client')) }
}

/** The file Node's `import` of a package picks (its "node" condition first, as Node does), as a URL. */
export function nodeEntry(pkgDir) {
  const exports = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).exports['.']
  const entry = (exports.node ?? exports).import.default
  return pathToFileURL(path.join(pkgDir, entry)).href
}

/** What a child imports for `which`: the snapshot when the orchestrator made one, else the package. */
export function switchboardModule(which) {
  const snap = process.env.BENCH_SWITCHBOARD ? JSON.parse(process.env.BENCH_SWITCHBOARD) : null
  return import(snap?.[which] ?? `@switchboard/${which}`)
}
