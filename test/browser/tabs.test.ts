// Eight tabs of one origin on HTTP/1.1, where a browser opens at most six connections per host:
// real Chromium and Firefox, eight pages in one browser context, through nginx. With default
// settings behind the nginx that strips Upgrade (the client falls to SSE), forced SSE and long
// polling there, and forced WebSocket behind the nginx that passes it, every tab must connect and
// exchange messages (each publishes, each receives every message once, in order), and when the
// leader tab closes mid-stream the others must carry on with nothing lost.
// SWITCHBOARD_BROWSERS=chromium runs only that engine (webkit is not run here: each WebKitGTK tab
// is a browser of its own, see docs/tabs.md).
import type { TransportName } from '@switchboard/protocol'
import { listen, type Listening } from '@switchboard/server'
import { chromium, firefox, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireCommand } from '../helpers/child-process.js'
import { startNginx, type Nginx, type NginxMode } from '../helpers/nginx.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { selectEngines } from './matrix-report.js'
import { createTabsApp, snapshot, untilAll, type TabSnapshot } from './tabs-page.js'

const TABS = 8
/** Messages each tab publishes in the stream, after its hello; the leader closes a third of the way in. */
const STREAM = 6
const GAP_MS = 60

interface Case {
  name: string
  nginx: NginxMode
  /** Forced through ?transport=, or undefined for connect()'s defaults. */
  forced?: TransportName
  expected: TransportName
}

const CASES: readonly Case[] = [
  { name: 'default settings, Upgrade stripped', nginx: 'strip-upgrade', expected: 'sse' },
  { name: 'forced sse, Upgrade stripped', nginx: 'strip-upgrade', forced: 'sse', expected: 'sse' },
  { name: 'forced long-polling, Upgrade stripped', nginx: 'strip-upgrade', forced: 'long-polling', expected: 'long-polling' },
  { name: 'forced websocket, Upgrade passed', nginx: 'websocket', forced: 'websocket', expected: 'websocket' },
]

const ENGINES = (['chromium', 'firefox'] as const).filter((e) => selectEngines().selected.includes(e))

let server: Listening
let tabsApp: ReturnType<typeof createTabsApp>
const nginxes = new Map<NginxMode, Nginx>()
const report: string[] = []

beforeAll(async () => {
  tabsApp = createTabsApp()
  server = await listen(tabsApp.app)
  for (const mode of new Set(CASES.map((c) => c.nginx))) nginxes.set(mode, await startNginx(mode, server.port))
}, 30_000)

afterAll(async () => {
  for (const nginx of nginxes.values()) await nginx.stop()
  await tabsApp?.sb.close({ drainTimeoutMs: 0 })
  await server?.close()
  if (report.length) console.log(['', 'eight tabs, one origin, HTTP/1.1 (times from navigation, ms)', ...report].join('\n'))
})

function launch(engine: (typeof ENGINES)[number]): Promise<Browser> {
  if (engine === 'chromium') return chromium.launch({ executablePath: requireCommand('chromium', 'chromium') })
  // Stock Firefox over WebDriver BiDi (see test/helpers/browsers.ts for why this channel and path).
  return firefox.launch({ channel: 'moz-firefox', executablePath: requireCommand('firefox-esr', 'firefox-esr') })
}

if (ENGINES.length === 0) it.skip('eight tabs of one origin (SWITCHBOARD_BROWSERS names neither chromium nor firefox)')

describe.each(ENGINES)('%s', (engine) => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launch(engine)
  }, 60_000)
  afterAll(() => browser?.close())

  it.each(CASES)('eight tabs, $name: every tab connects and gets every message once, in order, even after the leader tab closes', async (c) => {
    const room = `${engine}-${c.nginx}-${c.forced ?? 'default'}`
    // Counts the browser's connections to nginx.
    const entry: TcpProxy = await startTcpProxy({ targetPort: nginxes.get(c.nginx)!.port })
    const context = await browser.newContext()
    try {
      // Opened together, as a browser restoring a session does; whichever takes the lock first leads.
      const pages: Page[] = await Promise.all(
        Array.from({ length: TABS }, async (_, i) => {
          const page = await context.newPage()
          page.on('pageerror', (e) => console.error(`${engine} tab ${i + 1}: ${e.message}`))
          const query = new URLSearchParams({ tab: String(i + 1), room, ...(c.forced && { transport: c.forced }) })
          await page.goto(`${entry.url}/?${query}`)
          return page
        }),
      )

      // Every tab in, each with its hello: every tab has all eight (the room's history brings the earlier ones).
      const hellos = await untilAll(pages, 'every tab has every hello', (s) => s.received.length >= TABS)
      for (const s of hellos) expect(s.transport).toBe(c.expected)
      expect(new Set(hellos.map((s) => s.sessionId)).size).toBe(1)
      const leaders = hellos.filter((s) => s.leader)
      expect(leaders).toHaveLength(1)
      const connections = { opened: entry.totalConnections, open: entry.openConnections }

      // The stream: every tab publishes; the leader's tab closes a third of the way in.
      for (const page of pages) await page.evaluate(`void t.stream(1, ${STREAM}, ${GAP_MS})`)
      const leaderIndex = hellos.indexOf(leaders[0]!)
      const rest = pages.filter((_, i) => i !== leaderIndex)
      await untilAll(rest, 'a third of the stream has crossed', (s) => s.received.length >= TABS + (TABS * STREAM) / 3)
      const lastOfLeader = await snapshot(pages[leaderIndex]!)
      const closedAt = Date.now()
      await pages[leaderIndex]!.close()
      await untilAll(rest, 'the others are open again', (s) => s.state === 'open' && s.sessions.length > 0)
      const takeoverMs = Date.now() - closedAt
      const done = await untilAll(rest, 'every tab has published its stream', (s) => s.outcomes.length === STREAM + 1)
      const published = [...done, lastOfLeader].flatMap((s) => s.outcomes.filter(([, o]) => typeof o === 'number').map(([n, o]) => [o, s.tab, n]))
      const highest = Math.max(...published.map(([offset]) => offset as number))
      const final = await untilAll(rest, 'every tab has every message', (s) => s.received.length >= highest)

      // Nothing lost, nothing twice, one order: offsets 1..N in every tab, the same messages in each.
      for (const s of final) {
        expect(s.received.map(([offset]) => offset)).toEqual(Array.from({ length: s.received.length }, (_, i) => i + 1))
        expect(s.received.slice(0, highest)).toEqual(final[0]!.received.slice(0, highest))
        expect(s.sessions).toEqual([{ sessionId: s.sessionId, resumed: false, reason: 'SESSION_LOST' }])
        expect(s.transport).toBe(c.expected)
      }
      expect(new Set(final.map((s) => s.sessionId)).size).toBe(1)
      expect(final[0]!.sessionId).not.toBe(leaders[0]!.sessionId)
      // Every publish that was answered is there once, at its offset, in every tab; one in flight at
      // the closing leader may have been processed or not, and says so with SESSION_LOST.
      for (const message of published) expect(final[0]!.received).toContainEqual(message)
      const failed = done.flatMap((s) => s.outcomes.filter(([, o]) => typeof o !== 'number').map(([n, code]) => ({ tab: s.tab, n, code })))
      expect(failed.every(({ code }) => code === 'SESSION_LOST')).toBe(true)
      // Whether the server had processed them: each is in every tab, or in none.
      const processed = failed.filter(({ tab, n }) => final[0]!.received.some(([, t, m]) => t === tab && m === n))

      const times = (pick: (s: TabSnapshot) => number | null) => hellos.map((s) => Math.round(pick(s) ?? -1)).join(' ')
      report.push(
        `${engine.padEnd(8)} ${c.name.padEnd(38)} ${c.expected.padEnd(12)} script ran: ${times((s) => s.startAt)} | open: ${times((s) => s.openAt)}` +
          ` | first message: ${times((s) => s.firstAt)}` +
          ` | browser->nginx connections: ${connections.open} open, ${connections.opened} opened | leader (tab ${leaderIndex + 1}) closed:` +
          ` others open again in ${takeoverMs} ms, ${failed.length} publish(es) in flight rejected SESSION_LOST (${processed.length} of them processed), ${final[0]!.received.length} messages in every tab`,
      )
    } finally {
      await context.close()
      await entry.close()
    }
  })
})
