// The app and page of the tabs test: Switchboard at /rt (channel `room:*`, with history so every
// tab sees the room from its first message), and a page that connects with connect()'s defaults
// (or ?transport=, ?share=0), subscribes with `recent`, publishes a hello as soon as it is in, and
// keeps everything it sees on `window.t` for the test to read.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { createSwitchboard, type Switchboard } from '@switchboard/server'
import { Hono } from 'hono'
import type { Page } from 'playwright-core'
import { vi } from 'vitest'

export const HISTORY = 1_000

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tab</title>
<body>
<pre id="log"></pre>
<script type="module">
  import { connect } from '/switchboard.js'
  const q = new URLSearchParams(location.search)
  const tab = q.get('tab')
  const t = (window.t = { tab, leader: false, subscribed: false, startAt: performance.now(), openAt: null, firstAt: null, received: [], outcomes: [], sessions: [], states: [] })
  const client = connect('/rt', {
    ...(q.get('transport') ? { transports: [q.get('transport')] } : {}),
    ...(q.get('share') === '0' ? { shareAcrossTabs: false } : {}),
    logger: (e) => { if (e.kind === 'session' && e.message.startsWith('this tab holds')) t.leader = true },
  })
  t.client = client
  client.on('state', ({ to, reason }) => {
    t.states.push(to + ': ' + reason)
    if (to === 'open' && t.openAt === null) t.openAt = performance.now()
    document.getElementById('log').textContent = 'tab ' + tab + ' ' + to + ' ' + (client.transport ?? '')
  })
  client.on('session', (e) => t.sessions.push(e))
  const room = client.channel('room:' + q.get('room'))
  room.on('message', ({ data, offset }) => {
    if (t.firstAt === null) t.firstAt = performance.now()
    t.received.push([offset, data.tab, data.n])
  })
  t.publish = async (n) => {
    try {
      t.outcomes.push([n, (await room.publish({ tab, n })).offset])
    } catch (e) {
      t.outcomes.push([n, e.code ?? String(e)])
    }
  }
  /** Publishes n = from .. from + count - 1, one after another, gapMs apart. */
  t.stream = async (from, count, gapMs) => {
    for (let n = from; n < from + count; n++) {
      await t.publish(n)
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }
  room.subscribe({ recent: ${HISTORY} }).then(() => {
    t.subscribed = true
    return t.publish(0)
  })
</script>
`

/** What the test reads from a page in one evaluate. */
export interface TabSnapshot {
  tab: string
  leader: boolean
  subscribed: boolean
  /** When the page's script ran (ms from navigation): loading the page and the bundle took that long. */
  startAt: number
  state: string
  transport: string | null
  sessionId: string | null
  openAt: number | null
  firstAt: number | null
  /** [offset, tab, n] in arrival order. */
  received: [number, string, number][]
  /** [n, offset or error code] per publish, in order. */
  outcomes: [number, number | string][]
  sessions: { sessionId: string; resumed: boolean; reason?: string }[]
  states: string[]
}

export function snapshot(page: Page): Promise<TabSnapshot> {
  return page.evaluate(() => {
    const t = (window as unknown as { t: TabSnapshot & { client: { state: string; transport: string | null; sessionId: string | null } } }).t
    const { client, ...rest } = t
    return { ...rest, state: client.state, transport: client.transport, sessionId: client.sessionId } as TabSnapshot
  })
}

/** Polls every page until `test` holds for all of their snapshots; on timeout the error shows what was last seen. */
export async function untilAll(pages: readonly Page[], what: string, test: (s: TabSnapshot) => boolean, timeoutMs = 20_000): Promise<TabSnapshot[]> {
  let last: TabSnapshot[] = []
  try {
    return await vi.waitFor(
      async () => {
        last = await Promise.all(pages.map(snapshot))
        if (!last.every(test)) throw new Error('not yet')
        return last
      },
      { timeout: timeoutMs, interval: 100 },
    )
  } catch {
    const brief = last.map((s) => ({ tab: s.tab, state: s.state, transport: s.transport, received: s.received.length, outcomes: s.outcomes.length }))
    throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last seen ${JSON.stringify(brief)}`)
  }
}

/** The tabs app: Switchboard at /rt and the page at /. */
export function createTabsApp(): { app: Hono; sb: Switchboard<null> } {
  const bundle = createRequire(import.meta.url).resolve('@switchboard/client/browser')
  if (!fs.existsSync(bundle)) throw new Error('The client bundle is missing: run `npx turbo run build` first')
  const sb = createSwitchboard()
  sb.channel('room:*', { historySize: HISTORY })
  const app = new Hono()
  app.route('/rt', sb.app)
  app.get('/', (c) => c.html(PAGE))
  app.get('/switchboard.js', (c) => c.body(fs.readFileSync(bundle), 200, { 'content-type': 'text/javascript; charset=utf-8' }))
  return { app, sb }
}
