import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startServer } from './helpers/fixture.js'

/**
 * The packages as their users get them (the built files, resolved through package.json's
 * "exports", not the sources the other tests import): Node picks the client's node:http build and the
 * server's Node build; browsers, workers and their bundlers get builds that import no Node module.
 */
const dist = fileURLToPath(new URL('../packages/client/dist/', import.meta.url))
const serverDist = fileURLToPath(new URL('../packages/server/dist/', import.meta.url))
const require = createRequire(fileURLToPath(new URL('../package.json', import.meta.url)))

function built(file: string, from = dist): string {
  try {
    return readFileSync(from + file, 'utf8')
  } catch {
    throw new Error(`${from}${file} is missing: run \`npx turbo run build\` (or \`npm test\`) first`)
  }
}

/** The modules a built file imports or requires. */
const specifiers = (code: string) =>
  [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!)

describe('the client package', () => {
  it('resolves in Node to its Node build, whose client makes HTTP requests over node:http', async () => {
    expect(require.resolve('@switchboard/client')).toBe(`${dist}node.cjs`)
    built('node.js')
    const node = (await import(pathToFileURL(`${dist}node.js`).href)) as typeof import('@switchboard/client')
    const fetchBuild = (await import(pathToFileURL(`${dist}index.js`).href)) as typeof import('@switchboard/client')
    const defaultHttp = (c: unknown) => (c as { defaultHttp(): unknown }).defaultHttp
    expect(defaultHttp(node.SwitchboardClient)).not.toBe(defaultHttp(fetchBuild.SwitchboardClient))
    expect(new node.SwitchboardClient('http://127.0.0.1:9/rt')).toBeInstanceOf(fetchBuild.SwitchboardClient)
  })

  it('keeps Node modules out of everything a browser or its bundler loads', () => {
    const browserFiles = readdirSync(dist).filter((f) => f.endsWith('.js') && f !== 'node.js')
    expect(browserFiles).toEqual(expect.arrayContaining(['index.js', 'switchboard.browser.js']))
    for (const file of browserFiles) {
      const outside = specifiers(built(file)).filter((s) => !s.startsWith('./'))
      // The one-file browser build inlines its dependencies; the ESM build for bundlers imports only these.
      expect(outside, file).toEqual(
        file === 'switchboard.browser.js' ? [] : outside.filter((s) => s === '@switchboard/protocol' || s === 'eventsource-parser'),
      )
    }
    expect(specifiers(built('node.js'))).toEqual(expect.arrayContaining(['node:http', 'node:https']))
  })

  it.each(['sse', 'long-polling'])('lets a Node process exit once its client is closed (%s): pooled connections hold nothing', async (transport) => {
    const server = await startServer()
    try {
      // A script of its own: the test runner's process would not show a handle left open. Should
      // anything keep its event loop alive after close() (a pooled connection waits 4 s to expire),
      // the unref'd timer says what and exits 2.
      const script = `
        const { connect } = await import(${JSON.stringify(pathToFileURL(`${dist}node.js`).href)})
        const client = connect(${JSON.stringify(server.url)}, { transports: [${JSON.stringify(transport)}], reconnect: false })
        console.log(await client.call('echo', 'ok'))
        client.close()
        setTimeout(() => { console.log('held by', process.getActiveResourcesInfo().join(' ')); process.exit(2) }, 2000).unref()`
      const output = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
        ),
      )
      expect(output.trim()).toBe('ok')
    } finally {
      await server.close()
    }
  })
})

describe('the server package', () => {
  /** Every module outside the package that `file` reaches, following its own chunks. */
  function reachedFrom(file: string, seen = new Set<string>()): string[] {
    if (seen.has(file)) return []
    seen.add(file)
    return specifiers(built(file, serverDist)).flatMap((s) => (s.startsWith('./') ? reachedFrom(s.slice(2), seen) : [s]))
  }
  const nodeOnly = (s: string) => s.startsWith('node:') || builtinModules.includes(s) || s === 'ws' || s.startsWith('@hono/node-server')

  it('resolves in Node to its Node build, which adds listen() and handleUpgrades() to the neutral API', async () => {
    expect(require.resolve('@switchboard/server')).toBe(`${serverDist}node.cjs`)
    expect(require.resolve('@switchboard/server/node')).toBe(`${serverDist}node.cjs`)
    const node = (await import(pathToFileURL(`${serverDist}node.js`).href)) as Record<string, unknown>
    const neutral = (await import(pathToFileURL(`${serverDist}index.js`).href)) as Record<string, unknown>
    expect(Object.keys(node).sort()).toEqual([...Object.keys(neutral), 'handleUpgrades', 'listen'].sort())
    expect(node.createSwitchboard).not.toBe(neutral.createSwitchboard)
  })

  it('keeps ioredis to its own entry, @switchboard/server/redis, which exports the Redis adapter alone', async () => {
    expect(require.resolve('@switchboard/server/redis')).toBe(`${serverDist}redis.cjs`)
    expect(reachedFrom('redis.js')).toContain('ioredis')
    for (const file of ['index.js', 'index.cjs', 'node.js', 'node.cjs']) expect(reachedFrom(file), file).not.toContain('ioredis')
    const redis = (await import(pathToFileURL(`${serverDist}redis.js`).href)) as Record<string, unknown>
    expect(Object.keys(redis)).toEqual(['createRedisAdapter'])
  })

  it('keeps Node modules out of its runtime-neutral build, ESM and CommonJS', () => {
    expect(reachedFrom('node.js').filter(nodeOnly)).toEqual(expect.arrayContaining(['ws', '@hono/node-server']))
    for (const file of ['index.js', 'index.cjs']) expect(reachedFrom(file).filter(nodeOnly), file).toEqual([])
  })
})
