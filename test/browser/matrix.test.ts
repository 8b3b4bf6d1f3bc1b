// The cross-browser, cross-network matrix: the chat page in Chromium, Firefox ESR and WebKitGTK,
// each through every network of matrix-networks.ts (direct, nginx three ways, squid, a false
// WebSocket upgrade, TLS). In every cell the page must land on the transport that network allows,
// talk both ways with a Node client in the same room, and survive a cut of all its connections
// with every message delivered exactly once, in order, on both sides.
// SWITCHBOARD_BROWSERS=chromium,firefox runs only those engines (the others are reported as skipped).
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { SwitchboardClient } from '@switchboard/client'
import { listen, type Listening } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createChatApp, type ChatMessage } from '../../examples/chat/src/app.js'
import { ENGINES, launchEngine, type BrowserEngine, type Engine, type Tab } from '../helpers/browsers.js'
import { connectClient } from '../helpers/fixture.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { ChatPage, type PageSnapshot } from './chat-page.js'
import { NETWORKS, type Network, type NetworkSetup } from './matrix-networks.js'
import { reportMatrix, selectEngines, skipBanner, type CellResult } from './matrix-report.js'

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/browser/matrix/', import.meta.url))
const { selected, skipped } = selectEngines()
if (skipped.length) console.warn(skipBanner(skipped))

let server: Listening
let chat: ReturnType<typeof createChatApp>
const engines = new Map<Engine, Promise<BrowserEngine>>()
const versions: Partial<Record<Engine, string>> = {}
const results: CellResult[] = []
const started = performance.now()

beforeAll(async () => {
  fs.rmSync(SCREENSHOTS, { recursive: true, force: true })
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  // Default origins (same-origin): every proxy here passes the browser's Host on.
  chat = createChatApp()
  server = await listen(chat.app)
  // One browser per engine for the whole matrix, launched together (Firefox takes seconds).
  // A launch failure fails that engine's cells, with the launch error.
  for (const engine of selected) {
    const launched = launchEngine(engine)
    launched.catch(() => {})
    engines.set(engine, launched)
  }
  for (const [engine, launched] of engines) {
    const browser = await launched.catch(() => undefined)
    if (browser) versions[engine] = browser.version
  }
}, 60_000)

afterAll(async () => {
  for (const [engine, launched] of engines) {
    const browser = await launched.catch(() => undefined)
    if (browser) versions[engine] = browser.version // WebKit's is known once a session has started
    await browser?.close()
  }
  await chat?.sb.close()
  await server?.close()
  const order = (r: CellResult) => NETWORKS.findIndex((n) => n.name === r.network) * 10 + ENGINES.indexOf(r.engine)
  reportMatrix(
    SCREENSHOTS,
    [...results].sort((a, b) => order(a) - order(b)),
    versions,
    performance.now() - started,
  )
}, 60_000)

describe.each(NETWORKS)('network $name', (network) => {
  let setup: NetworkSetup | undefined
  let startError: unknown
  beforeAll(async () => {
    // Kept for the cells, so each fails with this error and shows up in the table.
    setup = await network.start(server.port).catch((e: unknown) => void (startError = e))
  }, 30_000)
  afterAll(async () => {
    await setup?.stop()
  }, 30_000)

  for (const engine of ENGINES) {
    const title = `${engine} lands on ${network.expected}, talks both ways with Node and survives a cut without loss`
    if (!selected.includes(engine)) {
      results.push({ engine, network: network.name, expected: network.expected, result: 'skipped', note: 'SWITCHBOARD_BROWSERS' })
      it.skip(title)
      continue
    }
    it(title, async () => {
      const result: CellResult = { engine, network: network.name, expected: network.expected, result: 'FAILED' }
      results.push(result)
      try {
        if (!setup) throw startError ?? new Error(`network ${network.name} did not start`)
        await runCell(await engines.get(engine)!, network, setup, result)
        result.result = 'passed'
      } catch (e) {
        result.note = (e as Error).message.split('\n')[0]!.slice(0, 120)
        throw e
      }
    })
  }
})

/** One cell: connect, exchange, cut, exchange again; every message once, in order, both sides. */
async function runCell(browser: BrowserEngine, network: Network, setup: NetworkSetup, result: CellResult): Promise<void> {
  const engine = browser.engine
  const room = `${engine}-${network.name}`
  const cut: TcpProxy = await startTcpProxy({ targetPort: setup.entryPort })
  // The Node side talks to the app directly; only the browser's path crosses the network under test.
  const node: SwitchboardClient = connectClient(`${server.url}/rt`, 'websocket', { rememberTransportMs: 0 })
  const nodeSeen: string[] = []
  const channel = node.channel<ChatMessage>(`room:${room}`)
  channel.on('message', ({ data }) => nodeSeen.push(`${data.name}: ${data.text}`))
  let tab: Tab | undefined
  let page: ChatPage | undefined
  const acks: Promise<unknown>[] = []
  const nodeSays = (text: string) => {
    const ack = channel.publish({ name: 'node', text, at: 0 })
    ack.catch(() => {}) // awaited below; a cell that fails earlier must not leave it unhandled
    acks.push(ack)
  }
  const nodeSaw = (line: string, timeoutMs = 15_000) =>
    vi.waitFor(() => expect(nodeSeen, `the Node client never got "${line}"`).toContain(line), { timeout: timeoutMs, interval: 50 })
  try {
    await channel.subscribe()
    const checkNetwork = setup.watch?.(engine, server.port)
    tab = await browser.newTab({ ...(setup.forwardProxy && { proxy: cut.url }), acceptInsecureCerts: setup.scheme === 'https' })
    page = new ChatPage(tab)
    const origin = setup.forwardProxy ? server.url : `${setup.scheme}://127.0.0.1:${cut.port}`

    // 1. Connect: the page finds its line through this network.
    const navigated = performance.now()
    await tab.goto(`${origin}/?${new URLSearchParams({ room, name: engine })}`)
    let seen = await page.until(`it joined #${room}`, (s) => s.joined === room && s.transport !== 'none', network.maxConnectMs + 10_000)
    result.connectMs = performance.now() - navigated
    result.transport = seen.transport
    expect(seen.transport, `transport through ${network.name}`).toBe(network.expected)
    expect(result.connectMs, `navigation -> joined through ${network.name} (ms)`).toBeLessThan(network.maxConnectMs)
    await checkNetwork?.()
    await page.record()

    // 2. Both ways.
    nodeSays('1 hello')
    await page.until('the first Node message arrived', (s) => s.received.includes('node: 1 hello'))
    result.firstMessageMs = performance.now() - navigated
    await page.send('1 hello')
    await nodeSaw(`${engine}: 1 hello`)

    // 3. Messages in flight both ways, then every connection of the browser is reset (RST), then
    // more messages while it is away: the page's wait in its outbox, Node's in the session's replay
    // buffer. Where a bare cut goes unnoticed (a browser re-sends a request whose reused keep-alive
    // connection was reset before any answer, so a held long poll is retried underneath the client),
    // the network stays cut for `outageMs`: every connection opened meanwhile is reset too.
    for (const n of [2, 3]) {
      nodeSays(`${n} before the cut`)
      await page.send(`${n} before the cut`)
    }
    const cutAt = performance.now()
    const outage = startOutage(cut, network.outageMs ?? 0)
    expect(outage.firstCut, 'connections cut').toBeGreaterThan(0)
    for (const n of [4, 5]) {
      nodeSays(`${n} during the cut`)
      await page.send(`${n} during the cut`)
    }
    result.cutConnections = await outage.done
    seen = await page.until(
      'the messages sent during the cut crossed both ways',
      (s) => s.received.includes('node: 5 during the cut') && s.received.includes(`${engine}: 5 during the cut`),
    )
    await nodeSaw(`${engine}: 5 during the cut`)
    result.recoverMs = performance.now() - cutAt
    expect(
      seen.transports.map((t) => t.to),
      'transport changes after the cut: dropped, then back',
    ).toContain(null)
    // Requests that open and finish between two of the outage's sweeps get through, so a client can
    // resume, deliver, then lose a later request to the outage and be between reconnects when the
    // messages show: it must come back on its line, not necessarily in the same snapshot.
    seen = await page.until('it is connected again after the cut', (s) => s.transport !== 'none')
    expect(seen.transport, 'back on the same transport after the cut').toBe(network.expected)
    nodeSays('6 after the cut')
    await page.send('6 after the cut')

    // 4. A last round trip, in this order, so anything delivered twice would show up before it.
    nodeSays('7 last')
    await page.until('Node’s last message arrived', (s) => s.received.includes('node: 7 last'))
    await page.send('7 last')
    await nodeSaw(`${engine}: 7 last`)
    seen = await page.until('its own last message came back, acked', (s) => s.received.includes(`${engine}: 7 last`) && s.sent.includes('7 last'))
    await Promise.all(acks) // every Node publish was accepted (none rejected)
    assertExactlyOnceInOrder(engine, seen, nodeSeen)
    expect(seen.transport, 'still on the same transport').toBe(network.expected)
    await tab.screenshot(`${SCREENSHOTS}${engine}-${network.name}.png`)
  } catch (e) {
    await tab?.screenshot(`${SCREENSHOTS}${engine}-${network.name}-FAILED.png`).catch(() => {})
    const last = await page?.snapshot().catch(() => undefined)
    if (last) console.error(`${engine} x ${network.name}: page at failure ${JSON.stringify(last)}`)
    throw e
  } finally {
    await tab?.close().catch(() => {})
    node.close()
    await cut.close()
  }
}

/** Resets every connection through `proxy` now and keeps resetting new ones for `ms`; `done` gives the total reset. */
function startOutage(proxy: TcpProxy, ms: number): { firstCut: number; done: Promise<number> } {
  const firstCut = proxy.cutAll()
  let total = firstCut
  if (ms <= 0) return { firstCut, done: Promise.resolve(total) }
  const timer = setInterval(() => (total += proxy.cutAll()), 2)
  // The outage's length is the fault being injected, not a wait for something to happen.
  const done = new Promise<number>((resolve) =>
    setTimeout(() => {
      clearInterval(timer)
      resolve(total)
    }, ms),
  )
  return { firstCut, done }
}

const TEXTS = ['1 hello', '2 before the cut', '3 before the cut', '4 during the cut', '5 during the cut', '6 after the cut', '7 last']

function assertExactlyOnceInOrder(engine: Engine, page: PageSnapshot, nodeSeen: readonly string[]): void {
  const fromNode = TEXTS.map((t) => `node: ${t}`)
  const fromPage = TEXTS.map((t) => `${engine}: ${t}`)
  // Each side got every message once, each sender's in the order it sent them...
  expect(
    page.received.filter((m) => m.startsWith('node: ')),
    'Node -> page',
  ).toEqual(fromNode)
  expect(
    page.received.filter((m) => m.startsWith(`${engine}: `)),
    'page -> page (its own, via the channel)',
  ).toEqual(fromPage)
  expect(
    nodeSeen.filter((m) => m.startsWith(`${engine}: `)),
    'page -> Node',
  ).toEqual(fromPage)
  expect(
    nodeSeen.filter((m) => m.startsWith('node: ')),
    'Node -> Node',
  ).toEqual(fromNode)
  // ...and both saw the same interleaving: the channel's one order.
  expect(page.received, 'the page and Node saw one order').toEqual(nodeSeen)
  expect(page.sent, 'every page publish was acked once').toEqual(TEXTS)
  expect(page.errors, 'errors shown by the page').toEqual([])
  // The cut was survived by the same session (resumed), not by a new one recovering from history.
  expect(page.sessions.length, 'session events after the cut').toBeGreaterThan(0)
  expect(
    page.sessions.every((s) => s.resumed),
    `sessions after the cut: ${JSON.stringify(page.sessions)}`,
  ).toBe(true)
}
