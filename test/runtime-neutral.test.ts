import { builtinModules } from 'node:module'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createContext, runInContext } from 'node:vm'
import {
  ACK_HEADER,
  ATTACH_PARAM,
  decodeServerBatch,
  encodeBatch,
  encodeFrame,
  FrameType,
  NEGOTIATE_PATH,
  POLL_PATH,
  SEND_PATH,
  SESSION_ID_PARAM,
  TOKEN_HEADER,
  WEBSOCKET_PATH,
  type NegotiateResponse,
} from '@switchboard/protocol'
import { build, type Plugin } from 'esbuild'
import type { Hono } from 'hono'
import { beforeAll, describe, expect, it, vi } from 'vitest'

/**
 * The server's runtime-neutral entry, as a runtime without Node would load it: bundled by esbuild
 * for its `neutral` platform (no Node module may be reached), then run in a context that holds web
 * globals only (no Buffer, process or require; timers return numbers, as in Deno and Workers),
 * answering web Requests through its fetch handler, with no server and no socket.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const source = (pkg: string, entry: string) => fileURLToPath(new URL(`../packages/${pkg}/src/${entry}.ts`, import.meta.url))
const NODE_PACKAGES = /^(ws|@hono\/node-server)(\/|$)/

/** Bundles `contents` for the neutral platform; returns the code and every Node module it reached. */
async function bundleNeutral(contents: string): Promise<{ code: string; nodeModules: string[] }> {
  const nodeModules: string[] = []
  const guard: Plugin = {
    name: 'node-guard',
    setup(b) {
      b.onResolve({ filter: /^@switchboard\/protocol$/ }, () => ({ path: source('protocol', 'index') }))
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (!args.path.startsWith('node:') && !builtinModules.includes(args.path) && !NODE_PACKAGES.test(args.path)) return undefined
        nodeModules.push(`${args.path} (imported by ${relative(root, args.importer)})`)
        return { path: args.path, external: true }
      })
    },
  }
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'neutral',
    format: 'iife',
    globalName: 'bundle',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [guard],
  })
  return { code: result.outputFiles[0]!.text, nodeModules }
}

type NeutralBundle = typeof import('../packages/server/src/index.js') & { Hono: typeof Hono }

/** What the core may find in any runtime with fetch: Node's own objects, handed over as they are. */
const WEB_GLOBALS = [
  ...['Request', 'Response', 'Headers', 'URL', 'URLSearchParams', 'ReadableStream', 'TextEncoder', 'TextDecoder'],
  ...['crypto', 'AbortController', 'AbortSignal', 'Event', 'EventTarget', 'btoa', 'atob', 'queueMicrotask', 'console'],
]

/** Runs the bundle in a context with web globals only; Node's timers are handed out as numbers. */
function runWithWebGlobalsOnly(code: string): { bundle: NeutralBundle; typeOf: (name: string) => string } {
  const context = createContext({
    ...Object.fromEntries(WEB_GLOBALS.map((name) => [name, (globalThis as Record<string, unknown>)[name]])),
    setTimeout: (fn: () => void, ms?: number, ...args: unknown[]) => Number(setTimeout(fn, ms, ...args)),
    setInterval: (fn: () => void, ms?: number, ...args: unknown[]) => Number(setInterval(fn, ms, ...args)),
    // Node clears a timer by the number its Symbol.toPrimitive gave.
    clearTimeout: (id: number | undefined) => clearTimeout(id),
    clearInterval: (id: number | undefined) => clearInterval(id),
  })
  const bundle = runInContext(`${code}\nbundle`, context) as NeutralBundle
  return { bundle, typeOf: (name) => runInContext(`typeof ${name}`, context) as string }
}

const neutralEntry = `export * from ${JSON.stringify(source('server', 'index'))}\nexport { Hono } from 'hono'`

describe('the runtime-neutral server core', () => {
  it('reaches no Node module when bundled for the neutral platform', async () => {
    const { nodeModules } = await bundleNeutral(neutralEntry)
    expect(nodeModules).toEqual([])
  })

  it('is told apart from the Node entry, whose bundle reaches ws, @hono/node-server and node:http', async () => {
    const { nodeModules } = await bundleNeutral(`export * from ${JSON.stringify(source('server', 'node'))}`)
    const reached = nodeModules.map((m) => m.split(' ')[0])
    expect(reached).toEqual(expect.arrayContaining(['ws', '@hono/node-server', 'node:http']))
  })

  describe('run with web globals only', () => {
    let bundle: NeutralBundle
    let typeOf: (name: string) => string
    beforeAll(async () => {
      ;({ bundle, typeOf } = runWithWebGlobalsOnly((await bundleNeutral(neutralEntry)).code))
    })

    /** The README's snippet: a switchboard with an `echo` method, mounted at /rt, served by a fetch handler. */
    function createEdgeApp(recoveryMs?: number) {
      const { createSwitchboard, Hono } = bundle
      const sb = createSwitchboard(recoveryMs === undefined ? {} : { recoveryMs })
      sb.rpc<string, string>('echo', (text) => text)
      const app = new Hono()
      app.route('/rt', sb.app)
      return { sb, fetch: (path: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test/rt/${path}`, init)) }
    }

    async function negotiate(fetch: ReturnType<typeof createEdgeApp>['fetch']): Promise<NegotiateResponse> {
      const answer = await fetch(NEGOTIATE_PATH, { method: 'POST', body: '{}' })
      expect(answer.status).toBe(200)
      return (await answer.json()) as NegotiateResponse
    }

    it('has no Buffer, process or require to lean on', () => {
      expect([typeOf('Buffer'), typeOf('process'), typeOf('require'), typeOf('setImmediate')]).toEqual([
        'undefined',
        'undefined',
        'undefined',
        'undefined',
      ])
    })

    it('negotiates, attaches a long poll and answers a call in the POST that carried it', async () => {
      const { sb, fetch } = createEdgeApp()
      try {
        const session = await negotiate(fetch)
        expect(session.sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/)
        expect(session.transports).toEqual(['sse', 'long-polling'])
        const query = `?${SESSION_ID_PARAM}=${encodeURIComponent(session.sessionId)}`
        const proof = { [TOKEN_HEADER]: session.resumeToken, [ACK_HEADER]: '0' }

        const attach = await fetch(`${POLL_PATH}${query}&${ATTACH_PARAM}=1`, { headers: proof })
        expect(attach.status).toBe(200)
        expect(decodeServerBatch(await attach.text())).toEqual([[FrameType.WELCOME, 0]])

        const call = encodeBatch([encodeFrame([FrameType.CALL, 1, 'echo', 'héllo ✓'])])
        const answer = await fetch(`${SEND_PATH}${query}`, { method: 'POST', headers: { ...proof, 'content-type': 'text/plain' }, body: call })
        expect(answer.status).toBe(200)
        expect(decodeServerBatch(await answer.text())).toEqual([
          [FrameType.ACK, 1],
          [FrameType.REPLY, 1, 1, null, 'héllo ✓'],
        ])
      } finally {
        await sb.close()
      }
    })

    it.each([
      ['GET /ws with TRANSPORT_NOT_ALLOWED: WebSocket needs the Node entry', WEBSOCKET_PATH, { upgrade: 'websocket' }, 400, 'TRANSPORT_NOT_ALLOWED'],
      ['a poll with a wrong token with INVALID_TOKEN', POLL_PATH, { [TOKEN_HEADER]: 'x'.repeat(32) }, 401, 'INVALID_TOKEN'],
    ])('answers %s', async (_name, path, headers, status, code) => {
      const { sb, fetch } = createEdgeApp()
      try {
        const session = await negotiate(fetch)
        const answer = await fetch(`${path}?${SESSION_ID_PARAM}=${session.sessionId}`, { headers })
        expect(answer.status).toBe(status)
        expect(await answer.json()).toMatchObject({ code })
      } finally {
        await sb.close()
      }
    })

    it('ends a session left without a line after recoveryMs: its sweep runs on number timers', async () => {
      const { sb, fetch } = createEdgeApp(300)
      try {
        await negotiate(fetch)
        expect(sb.sessionCount).toBe(1)
        await vi.waitFor(() => expect(sb.sessionCount).toBe(0), { timeout: 5_000, interval: 50 })
      } finally {
        await sb.close()
      }
    })
  })
})
