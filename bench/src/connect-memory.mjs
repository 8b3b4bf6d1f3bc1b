// What a WebSocket session costs in memory at connect, per saved build (see ab.mjs `save`) and
// raw ws (--raw), each in a fresh server (the bench's own, CPU 0) and a fresh client process (CPU 1):
//   held           client heap per open session once `sessions` are open (after two full GCs)
//   client alloc   bytes the client allocated per connect, collected or not (V8's sampling heap
//                  profiler, a sample every 256 bytes, objects collected by either GC included)
//   server alloc   the same in the server (its profiler started and stopped over SIGUSR2 by
//                  alloc-preload.mjs, which the server is started with)
// --top=N prints the N largest allocation sites of each side (a builtin named after its caller).
//
//   node src/connect-memory.mjs NAME [NAME..] [--raw] [--sessions=2000] [--top=0]
import fs from 'node:fs'
import { Session } from 'node:inspector/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { launch, stop } from './children.mjs'
import { openMany } from './driver/pool.mjs'
import { waitFor } from './run-one.mjs'
import { option as optionIn, pinnedClient, savedBuild } from './saved-builds.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const argv = process.argv.slice(2)
const option = (name, fallback) => optionIn(argv, name, fallback)
const CONCURRENCY = 200
const SAMPLING = { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }
const WARM = 200

if (argv[0] === 'client') await client(JSON.parse(argv[1]))
else await main(argv.filter((a) => !a.startsWith('--')))

async function main(names) {
  const targets = [...names, ...(argv.includes('--raw') ? ['raw'] : [])]
  if (targets.length === 0) {
    console.error('usage: node src/connect-memory.mjs NAME [NAME..] [--raw] [--sessions=2000] [--top=0]')
    process.exit(2)
  }
  const sessions = Number(option('sessions', 2000))
  const top = Number(option('top', 0))
  const rows = []
  for (const name of targets) {
    const r = await once(name, sessions, top)
    rows.push([name, r.held, r.clientAlloc, r.serverAlloc])
    if (top > 0) {
      console.log(`\n${name}: client, bytes allocated per connect by site`)
      for (const [site, bytes] of r.clientSites) console.log(`${String(bytes).padStart(7)}  ${site}`)
      console.log(`${name}: server, bytes allocated per connect by site`)
      for (const [site, bytes] of r.serverSites) console.log(`${String(bytes).padStart(7)}  ${site}`)
    }
  }
  console.log(`\n${sessions} WebSocket sessions, ${CONCURRENCY} handshakes at a time, after ${WARM} to warm up; bytes`)
  console.log(`${'build'.padEnd(10)} ${'held/session'.padStart(13)} ${'client alloc/connect'.padStart(21)} ${'server alloc/connect'.padStart(21)}`)
  for (const [name, held, c, s] of rows)
    console.log(`${name.padEnd(10)} ${String(held).padStart(13)} ${String(c).padStart(21)} ${String(s).padStart(21)}`)
}

/** One build: a fresh server with the allocation preload, a fresh client process that reports. */
async function once(name, sessions, top) {
  const raw = name === 'raw'
  const builds = raw ? {} : savedBuild(name)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-memory-'))
  const out = path.join(dir, 'server.json')
  const server = launch(here(raw ? './servers/raw-ws.mjs' : './servers/switchboard.mjs'), {
    env: { BENCH_SWITCHBOARD: JSON.stringify(builds), ALLOC_OUT: out },
    execArgv: [`--import=${here('./alloc-preload.mjs')}`],
    cpu: 0,
  })
  try {
    const { port } = await waitFor(server, 'ready', 20_000, `${name} server start`)
    const spec = { client: builds.client, origin: `http://127.0.0.1:${port}`, sessions, top, serverPid: server.pid }
    const r = await pinnedClient(here('./connect-memory.mjs'), spec, ['--expose-gc'])
    for (let i = 0; i < 100 && !fs.existsSync(out); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    const profile = JSON.parse(fs.readFileSync(out, 'utf8'))
    const inServer = summarize(profile, sessions, top)
    return { ...r, serverAlloc: inServer.perConnect, serverSites: inServer.sites }
  } finally {
    await stop(server)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The client process: warm up, then open `sessions` under the sampling profiler while the server
 * samples too (each told by SIGUSR2; the server's preload is what `serverPid` is), then settle and
 * measure the heap they hold. Sessions stay open until the process exits.
 */
async function client({ client: entry, origin, sessions, top, serverPid }) {
  const open = entry
    ? await import('./clients/switchboard.mjs').then(async (m) => {
        const { connect } = await import(entry)
        return () => m.openWith(connect, origin, { transport: 'websocket', timeoutMs: 30_000 })
      })
    : await import('./clients/raw-ws.mjs').then((m) => () => m.open(origin, { timeoutMs: 30_000 }))
  await openMany(open, WARM, CONCURRENCY)
  const inspector = new Session()
  inspector.connect()
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage().heapUsed
  }
  const before = await settled()
  await inspector.post('HeapProfiler.startSampling', SAMPLING)
  process.kill(serverPid, 'SIGUSR2')
  await new Promise((resolve) => setTimeout(resolve, 100))
  await openMany(open, sessions, CONCURRENCY)
  process.kill(serverPid, 'SIGUSR2')
  // Summed before the heap is read: the profile itself is garbage by then.
  const { perConnect, sites } = summarize((await inspector.post('HeapProfiler.stopSampling')).profile, sessions, top)
  inspector.disconnect()
  const held = Math.round(((await settled()) - before) / sessions)
  process.stdout.write(JSON.stringify({ held, clientAlloc: perConnect, clientSites: sites }))
  process.exit(0)
}

/** Bytes per connect in a sampling heap profile, and its `top` largest sites. */
function summarize(profile, sessions, top) {
  const bySite = new Map()
  let total = 0
  const walk = (node, caller) => {
    const f = node.callFrame
    const own = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
    const site = f.url === '' && caller ? `${own} <- ${caller}` : own
    total += node.selfSize
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child, own)
  }
  walk(profile.head, '')
  const sites = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([site, bytes]) => [site, Math.round(bytes / sessions)])
  return { perConnect: Math.round(total / sessions), sites }
}
