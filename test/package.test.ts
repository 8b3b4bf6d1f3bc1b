import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The client package as its users get it (the built files, resolved through package.json's
 * "exports", not the sources the other tests import): Node picks the node:http build, browsers
 * and their bundlers the fetch build, which must not import any Node module.
 */
const dist = fileURLToPath(new URL('../packages/client/dist/', import.meta.url))
const require = createRequire(fileURLToPath(new URL('../package.json', import.meta.url)))

function built(file: string): string {
  try {
    return readFileSync(dist + file, 'utf8')
  } catch {
    throw new Error(`packages/client/dist/${file} is missing: run \`npx turbo run build\` (or \`npm test\`) first`)
  }
}

describe('the client package', () => {
  it('resolves in Node to its Node build, whose client makes HTTP requests over node:http', async () => {
    expect(require.resolve('@switchboard/client')).toBe(dist + 'node.cjs')
    built('node.js')
    const node = (await import(pathToFileURL(dist + 'node.js').href)) as typeof import('@switchboard/client')
    const fetchBuild = (await import(pathToFileURL(dist + 'index.js').href)) as typeof import('@switchboard/client')
    const defaultHttp = (c: unknown) => (c as { defaultHttp(): unknown }).defaultHttp
    expect(defaultHttp(node.SwitchboardClient)).not.toBe(defaultHttp(fetchBuild.SwitchboardClient))
    expect(new node.SwitchboardClient('http://127.0.0.1:9/rt')).toBeInstanceOf(fetchBuild.SwitchboardClient)
  })

  it('keeps Node modules out of everything a browser or its bundler loads', () => {
    const specifiers = (code: string) => [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!)
    const browserFiles = readdirSync(dist).filter((f) => f.endsWith('.js') && f !== 'node.js')
    expect(browserFiles).toEqual(expect.arrayContaining(['index.js', 'switchboard.browser.js']))
    for (const file of browserFiles) {
      const outside = specifiers(built(file)).filter((s) => !s.startsWith('./'))
      // The one-file browser build inlines its dependencies; the ESM build for bundlers imports only these.
      expect(outside, file).toEqual(file === 'switchboard.browser.js' ? [] : outside.filter((s) => s === '@switchboard/protocol' || s === 'eventsource-parser'))
    }
    expect(specifiers(built('node.js'))).toEqual(expect.arrayContaining([expect.stringMatching(/^(node:)?http$/), expect.stringMatching(/^(node:)?https$/)]))
  })
})
