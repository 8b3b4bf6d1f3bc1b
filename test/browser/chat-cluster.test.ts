// The chat as three nodes behind nginx round robin (`npm run start:cluster`), in real Chromium and
// Firefox: a page per forced transport and one with default settings, per engine, all in one room
// through the balancer. Every page posts, and the node holding most of their sessions is SIGKILLed
// mid-stream. Every page must show every message once, in one order (each sender's in the order it
// sent them), stamped `via node-N` by at least two nodes, and keep working after the kill with
// nothing lost or doubled. Prints per page its transport, the messages it shows and how long after
// the kill its own next message came back.
// SWITCHBOARD_BROWSERS=chromium runs only that engine (webkit is not run here: each WebKitGTK page
// is a browser of its own, and one engine's pages already cover every transport).
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TransportName } from '@switchboard/protocol'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { launchEngine, type BrowserEngine, type Engine } from '../helpers/browsers.js'
import { launchChatCluster, type ChatCluster } from '../helpers/chat-cluster.js'
import { ChatPage, type PageSnapshot } from './chat-page.js'
import { selectEngines } from './matrix-report.js'

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/browser/', import.meta.url))
const ENGINES = (['chromium', 'firefox'] as const).filter((e) => selectEngines().selected.includes(e))
/** Forced through ?transport=, or undefined for the page's defaults (websocket: nginx passes Upgrade). */
const TRANSPORTS: readonly (TransportName | undefined)[] = ['websocket', 'sse', 'long-polling', undefined]
/** Messages each page posts, one round at a time, GAP_MS apart; the node dies after round KILL_AFTER. */
const ROUNDS = 10
const KILL_AFTER = 4
const GAP_MS = 150
const ROOM = 'cluster'

interface OpenPage {
  label: string
  expected: TransportName
  page: ChatPage
}

/** One message as the page shows it: an item of `#messages`, or the "some messages were missed" line. */
type Shown = { name: string; text: string; node: string | null } | { missed: true }
const SHOWN = `[...document.querySelectorAll('#messages li')].map((li) => li.classList.contains('missed')
  ? { missed: true }
  : { name: li.querySelector('.name').textContent, text: li.querySelector('.text').textContent, node: li.querySelector('.node')?.textContent ?? null })`

let cluster: ChatCluster | undefined
const engines: BrowserEngine[] = []
const pages: OpenPage[] = []

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  const [launched, ...browsers] = await Promise.all([launchChatCluster(), ...ENGINES.map((engine: Engine) => launchEngine(engine))])
  cluster = launched
  engines.push(...(browsers as BrowserEngine[]))
}, 60_000)

afterAll(async () => {
  for (const { page } of pages) await page.tab.close().catch(() => {})
  for (const engine of engines) await engine.close()
  await cluster?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const textOf = (label: string, round: number) => `${label}: message ${round}`
/** The node holding the page's session: the `stats` call is answered there. */
const sessionNode = (p: OpenPage) => p.page.tab.evaluate<string>(`window.chat.client.call('stats', null).then((s) => s.node)`)

/** Opens the chat through nginx in a fresh context and waits until it is open and in the room. */
async function openPage(engine: BrowserEngine, forced: TransportName | undefined): Promise<void> {
  const label = `${engine.engine}-${forced ?? 'default'}`
  const page = new ChatPage(await engine.newTab())
  pages.push({ label, expected: forced ?? 'websocket', page })
  await page.tab.goto(`${cluster!.url}/?${new URLSearchParams({ name: label, room: ROOM, ...(forced && { transport: forced }) })}`)
  await page.until('it is open and in the room', (s) => s.state === 'open' && s.joined === ROOM)
  await page.record()
}

/** Every page posts its message of `round`, as a person types and sends it. */
const post = (round: number) => Promise.all(pages.map(({ page }) => page.send(`message ${round}`)))

/** The value that occurs most often in `list` (the first of them on a tie). */
function mostCommon(list: readonly string[]): string {
  const count = (value: string) => list.filter((v) => v === value).length
  return list.reduce((best, value) => (count(value) > count(best) ? value : best))
}

interface Run {
  victim: string
  victimPid: number
  nodesBefore: string[]
  nodesAfter: string[]
  done: PageSnapshot[]
  recoveredMs: number[]
  stamps: { round: number; node: string | null }[]
}

/** Per page: its transport, the messages it shows, where its session was and how soon it was back. */
function printReport({ victim, victimPid, nodesBefore, nodesAfter, done, recoveredMs, stamps }: Run): void {
  const byNode = [...new Set(stamps.map((m) => m.node))].sort().map((n) => `${n} ${stamps.filter((m) => m.node === n).length}`)
  const row = (...cells: string[]) => cells.map((cell, i) => cell.padEnd([22, 13, 6, 18, 12, 0][i]!)).join(' ')
  console.log(
    [
      '',
      `chat cluster in ${engines.map((e) => `${e.engine} ${e.version}`).join(' and ')}: ${pages.length} pages, ${ROUNDS} messages each,` +
        ` ${victim} (pid ${victimPid}) SIGKILLed after round ${KILL_AFTER}`,
      row('page', 'transport', 'shown', 'session node', 'new session', 'own message back after the kill'),
      ...pages.map((p, i) =>
        row(
          p.label,
          done[i]!.transport ?? '?',
          String(done[i]!.received.length),
          `${nodesBefore[i]} -> ${nodesAfter[i]}`,
          String(done[i]!.sessions.some((e) => !e.resumed)),
          `${recoveredMs[i]} ms`,
        ),
      ),
      `messages by node: ${byNode.join(', ')}`,
    ].join('\n'),
  )
}

it('launchChatCluster rejects with what the launcher said when it could not start', async () => {
  // redis-server lives in /usr/bin, which this PATH leaves out.
  await expect(launchChatCluster({ ...process.env, PATH: '/nonexistent' })).rejects.toThrow(
    'could not start the cluster: redis-server is not installed: apt-get install -y redis-server',
  )
})

if (ENGINES.length === 0) it.skip('the chat cluster in browsers (SWITCHBOARD_BROWSERS names neither chromium nor firefox)')
else
  it('every page shows every message once and in order, from several nodes, and keeps working when a node is killed', async () => {
    for (const engine of engines) for (const forced of TRANSPORTS) await openPage(engine, forced)
    for (const p of pages) expect((await p.page.snapshot()).transport, p.label).toBe(p.expected)
    const nodesBefore = await Promise.all(pages.map(sessionNode))

    // The stream; the node holding most sessions dies after KILL_AFTER rounds, with the last ones in flight.
    for (let round = 1; round <= KILL_AFTER; round++) await post(round).then(() => sleep(GAP_MS))
    const victim = mostCommon(nodesBefore)
    const victimPid = cluster!.children.get(victim)!.pid
    process.kill(victimPid, 'SIGKILL')
    const killedAt = Date.now()
    // Recovered: the page's own first message posted after the kill has come back to it.
    const recovered = Promise.all(
      pages.map(({ label, page }) =>
        page
          .until(`its first message after the kill is back`, (s) => s.received.includes(textOf(label, KILL_AFTER + 1)), 30_000)
          .then(() => Date.now() - killedAt),
      ),
    )
    for (let round = KILL_AFTER + 1; round <= ROUNDS; round++) await post(round).then(() => sleep(GAP_MS))
    const recoveredMs = await recovered
    await vi.waitFor(() => expect(cluster!.output()).toContain(`${victim} (pid ${victimPid}) exited (signal SIGKILL); nginx passes its requests`))

    const total = pages.length * ROUNDS
    const done = await Promise.all(
      pages.map(({ page }) => page.until(`it shows all ${total} messages`, (s) => s.received.length >= total && s.sent.length === ROUNDS, 30_000)),
    )
    const shown = await Promise.all(pages.map(({ page }) => page.tab.evaluate<Shown[]>(SHOWN)))
    const nodesAfter = await Promise.all(pages.map(sessionNode))

    // Every page: every message once, the same order everywhere, each sender's in the order it sent.
    const expected = pages.flatMap(({ label }) => Array.from({ length: ROUNDS }, (_, i) => textOf(label, i + 1)))
    const first = done[0]!.received
    expect([...first].sort()).toEqual([...expected].sort())
    expect(shown[0]!.map((m) => ('missed' in m ? '(missed)' : `${m.name}: ${m.text}`))).toEqual(first)
    for (const [i, { label, page, expected: transport }] of pages.entries()) {
      const s = done[i]!
      expect(s.received, label).toEqual(first)
      // What it shows: the same items, each with the node that handled it, and no "missed" line.
      expect(shown[i], label).toEqual(shown[0])
      for (const sender of pages.map((p) => p.label))
        expect(
          s.received.filter((m) => m.startsWith(`${sender}:`)),
          `${label} from ${sender}`,
        ).toEqual(expected.filter((m) => m.startsWith(`${sender}:`)))
      expect(s.sent, label).toEqual(Array.from({ length: ROUNDS }, (_, n) => `message ${n + 1}`))
      expect({ state: s.state, transport: s.transport, errors: s.errors }, label).toEqual({ state: 'open', transport, errors: [] })
      // A page whose node died started a new session there; the others kept theirs.
      const fresh = s.sessions.filter((e) => !e.resumed)
      if (nodesBefore[i] === victim) expect(fresh.length, `${label}: a new session`).toBeGreaterThan(0)
      else expect(fresh, `${label}: the same session`).toEqual([])
      await page.tab.screenshot(`${SCREENSHOTS}chat-cluster-${label}.png`)
    }

    // Stamped by at least two nodes; once every page had felt the kill, none by the dead node.
    const stamps = (shown[0] as Exclude<Shown, { missed: true }>[]).map((m) => ({ round: Number(m.text.split(' ')[1]), node: m.node }))
    expect(stamps.every((m) => /^via node-\d$/.test(m.node ?? ''))).toBe(true)
    expect(new Set(stamps.map((m) => m.node)).size).toBeGreaterThanOrEqual(2)
    expect(stamps.filter((m) => m.round > KILL_AFTER + 1 && m.node === `via ${victim}`)).toEqual([])

    printReport({ victim, victimPid, nodesBefore, nodesAfter, done, recoveredMs, stamps })
  }, 90_000)
