// `npm test`: system packages, lint and format, build, type-check, unit + integration tests, browser tests.
// Plain Node ESM with built-ins only, so it runs before anything is built.
// SWITCHBOARD_SKIP_BROWSERS=1 skips the browser part and the browser-only system packages.
// SWITCHBOARD_BROWSERS=chromium,firefox runs the browser part with only those engines (of chromium,
// firefox, webkit), for a machine where one cannot be installed; the skipped ones are reported loudly.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
process.chdir(repoRoot)

// Commands the suite runs, one line each: the command looked up on PATH (and the sbin directories),
// the Debian package that provides it, `browser: true` if only the browser part needs it
// (SWITCHBOARD_SKIP_BROWSERS=1 then skips it), and `engine` if only that browser engine needs it
// (SWITCHBOARD_BROWSERS without that engine then skips it).
const SYSTEM_PACKAGES = [
  { command: 'chromium', package: 'chromium', browser: true, engine: 'chromium' },
  { command: 'firefox-esr', package: 'firefox-esr', browser: true, engine: 'firefox' },
  { command: 'WebKitWebDriver', package: 'webkit2gtk-driver', browser: true, engine: 'webkit' },
  { command: 'Xvfb', package: 'xvfb', browser: true, engine: 'webkit' },
  // nginx: the browser matrix, and the cluster tests' round-robin balancer in the unit part.
  { command: 'nginx', package: 'nginx' },
  { command: 'squid', package: 'squid', browser: true },
  { command: 'openssl', package: 'openssl', browser: true },
  // The Redis adapter's tests start their own redis-server (and a Redis Cluster with redis-cli).
  { command: 'redis-server', package: 'redis-server' },
  { command: 'redis-cli', package: 'redis-tools' },
]

const skipBrowsers = process.env.SWITCHBOARD_SKIP_BROWSERS === '1'
const ENGINES = ['chromium', 'firefox', 'webkit']

/** The engines SWITCHBOARD_BROWSERS asks for (all by default); exits on a name that is not one. */
function selectEngines(value = process.env.SWITCHBOARD_BROWSERS) {
  if (value === undefined || value.trim() === '' || value.trim() === 'all') return ENGINES
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
  const unknown = names.filter((n) => !ENGINES.includes(n))
  if (unknown.length || names.length === 0) {
    console.error(
      `SWITCHBOARD_BROWSERS=${value}: unknown browser ${unknown.join(', ') || '(none given)'}; use a comma-separated list of ${ENGINES.join(', ')}, or all`,
    )
    process.exit(2)
  }
  return ENGINES.filter((e) => names.includes(e))
}
const engines = selectEngines()
const skippedEngines = skipBrowsers ? [] : ENGINES.filter((e) => !engines.includes(e))
const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'))

/** @type {{ name: string, status: 'passed' | 'FAILED' | 'skipped' | 'warning', seconds?: number, note?: string, counts?: { passed: number, failed: number, skipped: number } }[]} */
const parts = []

const SKIP_BANNER = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!!                                                                    !!',
  '!!   BROWSER TESTS SKIPPED (SWITCHBOARD_SKIP_BROWSERS=1)              !!',
  '!!   Browsers and squid were not checked; test/browser was NOT       !!',
  '!!   run (not the chat test, not the browser x network matrix).       !!',
  '!!   This run does not show that Switchboard works in a browser.      !!',
  '!!                                                                    !!',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n')

const skippedLine = `!!   BROWSERS SKIPPED: ${skippedEngines.join(', ')} (SWITCHBOARD_BROWSERS)`
const ENGINE_BANNER = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!!                                                                    !!',
  `${skippedLine.padEnd(70)}!!`,
  '!!   Their matrix cells were NOT run and their packages not checked.  !!',
  '!!   This run does not show that Switchboard works in them.           !!',
  '!!                                                                    !!',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n')

let step = 0
const TOTAL_STEPS = 7
function header(title) {
  step++
  const line = `==== [${step}/${TOTAL_STEPS}] ${title} `
  console.log(`\n${line.padEnd(78, '=')}\n`)
}

/** Runs a command with inherited stdio; resolves with its exit code (a signal or spawn error counts as 1). */
function run(command, args, env = {}) {
  console.log(`$ ${[command, ...args].join(' ')}`)
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } })
    child.on('error', (err) => {
      console.error(`could not start ${command}: ${err.message}`)
      resolve(1)
    })
    child.on('exit', (code, signal) => {
      if (signal) console.error(`${command} was killed by ${signal}`)
      resolve(code ?? 1)
    })
  })
}

/** Times `fn`, prints how long the part took and records its result. */
async function part(name, title, fn) {
  header(title)
  const started = performance.now()
  const result = await fn()
  const seconds = (performance.now() - started) / 1000
  console.log(`\n${name} part took ${seconds.toFixed(1)} s`)
  parts.push({ name, seconds, ...result })
  return result.status !== 'FAILED'
}

function skip(name, title, note) {
  header(title)
  console.log(`skipped: ${note}`)
  parts.push({ name, status: 'skipped', note })
}

// nginx and squid are in /usr/sbin, which is not on every PATH (a non-root shell, some CI images).
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin']

function onPath(command) {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...SBIN]) {
    if (!dir) continue
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK)
      return true
    } catch {}
  }
  return false
}

async function installSystemPackages() {
  const needed = SYSTEM_PACKAGES.filter((p) => !(p.browser && skipBrowsers) && !(p.engine && skippedEngines.includes(p.engine)))
  const missing = () => needed.filter((p) => !onPath(p.command))
  for (const p of needed) console.log(`${onPath(p.command) ? 'found  ' : 'MISSING'} ${p.command} (Debian package ${p.package})`)
  if (skipBrowsers) {
    const skipped = SYSTEM_PACKAGES.filter((p) => p.browser).map((p) => p.command)
    if (skipped.length) console.log(`not checked (browsers skipped): ${skipped.join(', ')}`)
  } else if (skippedEngines.length) {
    const skipped = SYSTEM_PACKAGES.filter((p) => p.engine && skippedEngines.includes(p.engine)).map((p) => p.command)
    console.log(`NOT CHECKED (SWITCHBOARD_BROWSERS skips ${skippedEngines.join(', ')}): ${skipped.join(', ')}`)
  }

  const first = missing()
  if (first.length === 0) return { status: 'passed' }
  const packages = [...new Set(first.map((p) => p.package))]
  const installLine = `DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`

  if (process.getuid?.() !== 0) {
    console.error(
      [
        '',
        `Missing system packages: ${packages.join(', ')} (commands: ${first.map((p) => p.command).join(', ')}).`,
        'This script installs them only when run as root. Install them as root with:',
        '',
        '  apt-get update',
        `  ${installLine}`,
        '',
        'or with sudo:',
        '',
        `  sudo apt-get update && sudo env ${installLine}`,
        ...(first.every((p) => p.browser) ? ['', 'or skip the browser tests: SWITCHBOARD_SKIP_BROWSERS=1 npm test'] : []),
        ...(first.some((p) => p.engine)
          ? [
              '',
              `or run only the engines you have: SWITCHBOARD_BROWSERS=${engines.filter((e) => !first.some((p) => p.engine === e)).join(',') || 'chromium'} npm test`,
            ]
          : []),
      ].join('\n'),
    )
    return { status: 'FAILED', note: `missing: ${packages.join(' ')}` }
  }

  console.log(`\nInstalling ${packages.join(' ')} with apt-get (running as root).`)
  if ((await run('apt-get', ['update'])) !== 0) return { status: 'FAILED', note: 'apt-get update failed' }
  const code = await run('apt-get', ['install', '-y', ...packages], { DEBIAN_FRONTEND: 'noninteractive' })
  if (code !== 0) return { status: 'FAILED', note: `apt-get install failed (exit ${code})` }

  const still = missing()
  if (still.length) {
    console.error(`Installed, but still not on PATH: ${still.map((p) => p.command).join(', ')} (PATH=${process.env.PATH})`)
    return { status: 'FAILED', note: `not on PATH after install: ${still.map((p) => p.command).join(' ')}` }
  }
  return { status: 'passed', note: `installed ${packages.join(' ')}` }
}

// `npx --no --`: never download a missing tool, and pass every later flag (`-p`, `--config`) to it,
// not to npx.
const npx = (args, env) => run('npx', ['--no', '--', ...args], env)

async function command(args, env) {
  const code = await npx(args, env)
  return code === 0 ? { status: 'passed' } : { status: 'FAILED', note: `exit code ${code}` }
}

async function build() {
  const result = await command(['turbo', 'run', 'build'], { TURBO_TELEMETRY_DISABLED: '1' })
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'))
  if (result.status === 'FAILED' && !pkg.packageManager) {
    console.error(
      '\nhint: turbo 2 refuses to run without a "packageManager" field in the root package.json, e.g. "packageManager": "npm@<output of npm -v>".',
    )
  }
  return result
}

/**
 * `biome check` (lint and format) over the tree; any finding fails the part. Biome's exit code
 * counts errors only (warnings with --error-on-warnings), so its JSON summary is read for infos too.
 */
async function lint() {
  const outputFile = path.join(reportDir, 'biome.json')
  const code = await npx(['biome', 'check', '--error-on-warnings', '--reporter=default', '--reporter=json', `--reporter-file=${outputFile}`, '.'])
  let summary
  try {
    summary = JSON.parse(fs.readFileSync(outputFile, 'utf8')).summary
  } catch {
    return { status: 'FAILED', note: `no JSON report (biome exit ${code})` }
  }
  const findings = summary.errors + summary.warnings + summary.infos
  if (code === 0 && findings === 0) return { status: 'passed' }
  console.error('\nFix what biome reports; `npx biome check --write .` applies the formatting and the safe fixes.')
  return { status: 'FAILED', note: `${summary.errors} errors, ${summary.warnings} warnings, ${summary.infos} infos (biome exit ${code})` }
}

/** Runs vitest with a JSON report; `allowEmpty` turns "no test files" into a warning. */
async function vitest(name, configArgs, { allowEmpty }) {
  const outputFile = path.join(reportDir, `${name}.json`)
  fs.rmSync(outputFile, { force: true })
  const args = ['vitest', 'run', ...configArgs, '--reporter=default', '--reporter=json', `--outputFile=${outputFile}`]
  if (allowEmpty) args.push('--passWithNoTests')
  const code = await npx(args)

  let report
  try {
    report = JSON.parse(fs.readFileSync(outputFile, 'utf8'))
  } catch {
    return { status: 'FAILED', note: `no JSON report (vitest exit ${code}): vitest crashed or was killed` }
  }
  const counts = {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  }
  const files = report.numTotalTestSuites ?? 0
  if (files === 0 && (report.testResults ?? []).length === 0) {
    if (allowEmpty && code === 0) {
      console.warn(`\nWARNING: the ${name} part found no test files. Tests are expected there soon.`)
      return { status: 'warning', note: 'no test files found', counts }
    }
    return { status: 'FAILED', note: 'no test files found', counts }
  }
  if (code !== 0 || report.success === false || counts.failed > 0) {
    const failedFiles = report.numFailedTestSuites ?? 0
    const why =
      counts.failed > 0
        ? `${counts.failed} failed test(s)`
        : failedFiles > 0
          ? `${failedFiles} failed suite(s), e.g. a file that did not load`
          : `vitest exit ${code}`
    return { status: 'FAILED', note: why, counts, failures: failuresOf(report) }
  }
  return { status: 'passed', counts }
}

/** The failed tests of a vitest JSON report, each with its first line of error: what the summary names. */
function failuresOf(report) {
  const failures = []
  for (const file of report.testResults ?? []) {
    const where = path.relative(process.cwd(), file.name)
    for (const t of file.assertionResults ?? []) {
      if (t.status !== 'failed') continue
      failures.push(`${where} > ${t.fullName ?? t.title}\n    ${firstLine(t.failureMessages?.[0])}`)
    }
    // A file that failed to load has no tests: its own message says why.
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'))
      failures.push(`${where}\n    ${firstLine(file.message)}`)
  }
  return failures
}

const firstLine = (text) =>
  String(text ?? '')
    .split('\n')[0]
    .slice(0, 300)

/** Shows the browser x network table again (test/browser/matrix.test.ts writes it), if this run wrote it. */
function printMatrix(since) {
  const file = 'test-results/browser/matrix/matrix.txt'
  try {
    if (fs.statSync(file).mtimeMs < since) return
    console.log(`\n${'==== browser x network matrix '.padEnd(78, '=')}\n\n${fs.readFileSync(file, 'utf8')}(screenshots in ${path.dirname(file)}/)`)
  } catch {
    // not written: the matrix did not run to its end (its failure is reported above)
  }
}

function printSummary() {
  const rows = parts.map((p) => [
    p.name,
    p.status,
    p.seconds === undefined ? '-' : `${p.seconds.toFixed(1)} s`,
    p.counts ? `${p.counts.passed}/${p.counts.failed}/${p.counts.skipped}` : '-',
    p.note ?? '',
  ])
  const head = ['part', 'status', 'time', 'pass/fail/skip', 'note']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  console.log(`\n${'==== summary '.padEnd(78, '=')}\n`)
  console.log(fmt(head))
  console.log(fmt(widths.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(fmt(r))
  // The tail of a log is what a CI page shows: name what failed there, with its first error line.
  for (const p of parts) {
    if (!p.failures?.length) continue
    console.log(`\nfailed in ${p.name}:`)
    for (const f of p.failures) console.log(`  ${f}`)
  }
}

const totalStarted = performance.now()
if (skipBrowsers) console.log(SKIP_BANNER)
else if (skippedEngines.length) console.log(ENGINE_BANNER)

const installed = await part('system packages', 'System packages (apt-get)', installSystemPackages)

// Needs nothing but node_modules, so it runs even when system packages are missing.
await part('lint', 'Lint and format (biome check)', lint)

let built = false
if (installed) built = await part('build', 'Build (npx turbo run build)', build)
else skip('build', 'Build (npx turbo run build)', 'system packages are missing')

if (installed) await part('typecheck', 'Type-check (npx tsc -p tsconfig.json --noEmit)', () => command(['tsc', '-p', 'tsconfig.json', '--noEmit']))
else skip('typecheck', 'Type-check (npx tsc -p tsconfig.json --noEmit)', 'system packages are missing')

const blocked = !installed ? 'system packages are missing' : !built ? 'the build failed' : undefined
if (blocked) skip('unit', 'Unit + integration tests (vitest)', blocked)
else await part('unit', 'Unit + integration tests (vitest)', () => vitest('unit', [], { allowEmpty: false }))

// Soaks and storms, one file at a time after the rest: their load would skew other tests' timing.
if (blocked) skip('soak', 'Soak and storm tests (vitest, test/soak)', blocked)
else
  await part('soak', 'Soak and storm tests (vitest, test/soak)', () =>
    vitest('soak', ['--config', 'test/soak/vitest.config.ts'], { allowEmpty: false }),
  )

if (skipBrowsers) skip('browser', 'Browser tests (vitest, test/browser)', 'SWITCHBOARD_SKIP_BROWSERS=1')
else if (blocked) skip('browser', 'Browser tests (vitest, test/browser)', blocked)
else
  await part('browser', 'Browser tests (vitest, test/browser)', async () => {
    const startedAt = Date.now()
    const args = ['--config', 'test/browser/vitest.config.ts']
    // The chat test drives Chromium only; the matrix reads SWITCHBOARD_BROWSERS itself.
    if (skippedEngines.includes('chromium')) {
      console.log('NOT RUN (SWITCHBOARD_BROWSERS has no chromium): test/browser/chat.test.ts')
      args.push('--exclude', 'test/browser/chat.test.ts')
    }
    const result = await vitest('browser', args, { allowEmpty: true })
    printMatrix(startedAt)
    return result
  })

const totals = { passed: 0, failed: 0, skipped: 0 }
for (const p of parts) {
  if (!p.counts) continue
  totals.passed += p.counts.passed
  totals.failed += p.counts.failed
  totals.skipped += p.counts.skipped
}
const anyFailed = parts.some((p) => p.status === 'FAILED')
const noneRan = totals.passed + totals.failed === 0

printSummary()
console.log(`\ntotal time ${((performance.now() - totalStarted) / 1000).toFixed(1)} s`)
for (const p of parts) {
  if (p.status === 'FAILED' && (p.name === 'unit' || p.name === 'browser') && !p.counts?.failed) {
    console.log(`note: the ${p.name} part FAILED with no failing test counted (${p.note}); see its output above.`)
  }
}
if (noneRan) console.log('FAILED: no tests ran.')
if ((anyFailed || noneRan) && fs.readdirSync(reportDir).length > 0) console.log(`JSON reports kept in ${reportDir}`)
else fs.rmSync(reportDir, { recursive: true, force: true })
if (skipBrowsers) console.log(SKIP_BANNER)
else if (skippedEngines.length) console.log(ENGINE_BANNER)

console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`)
process.exitCode = anyFailed || noneRan ? 1 : 0
