// The chat example in real Chromium, once per transport: two people in two browser contexts
// talk both ways, and a REST announcement from Node reaches them both.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { listen, type Listening } from '@switchboard/server'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatApp, type ChatMessage } from '../../examples/chat/src/app.js'

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/browser/', import.meta.url))
const TRANSPORTS = ['websocket', 'sse', 'long-polling'] as const

/** What the page exposes as `window.chat` (only what the test reads). */
interface PageChat {
  received: ChatMessage[]
  sent: ChatMessage[]
  missed: { from: number | null; to: number }[]
  errors: { code: string; message: string }[]
}
/** Reads `window.chat[key]` from the page. */
function readChat<K extends keyof PageChat>(page: Page, key: K): Promise<PageChat[K]> {
  return page.evaluate((k) => (window as unknown as { chat: PageChat }).chat[k], key) as Promise<PageChat[K]>
}

/** The built browser bundle, or undefined before `npx turbo run build`. */
function clientBundle(): string | undefined {
  try {
    const path = createRequire(import.meta.url).resolve('@switchboard/client/browser')
    return fs.existsSync(path) ? path : undefined
  } catch {
    return undefined
  }
}

let browser: Browser
let server: Listening
let chat: ReturnType<typeof createChatApp>
const contexts = new Set<BrowserContext>()

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium) or run the suite with \`npm test\`, which does`)
  if (!clientBundle()) throw new Error('The client bundle @switchboard/client/browser is missing: run `npx turbo run build` (or `npm test`) first')
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  chat = createChatApp()
  server = await listen(chat.app)
  browser = await chromium.launch({ executablePath: CHROMIUM })
})

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {})
  await browser?.close()
  await chat?.sb.close()
  await server?.close()
})

/** Opens the chat in a fresh browser context and waits until it is open and in its room. */
async function openChat(query: Record<string, string>, origin = server.url): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 900, height: 620 } })
  contexts.add(context)
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error(`page error (${query.name}): ${e.message}`))
  await page.goto(`${origin}/?${new URLSearchParams(query)}`)
  await page.waitForFunction(() => document.body.dataset.state === 'open')
  await page.waitForFunction((room) => document.body.dataset.joined === room, query.room ?? 'lobby')
  return page
}

async function closeChat(...pages: Page[]): Promise<void> {
  for (const page of pages) {
    contexts.delete(page.context())
    await page.context().close()
  }
}

/** The transport the page shows, in its status bar and on `<body>`. */
async function shownTransport(page: Page): Promise<{ text: string | null; dataset: string | undefined }> {
  return {
    text: await page.locator('#transport').textContent(),
    dataset: await page.evaluate(() => document.body.dataset.transport),
  }
}

/** Publishes `text` as the server, to `room`, through the chat's REST route. */
async function announce(origin: string, room: string, text: string): Promise<void> {
  const response = await fetch(`${origin}/api/announce`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room, text }),
  })
  expect(response.status).toBe(200)
}

/** Joins `room` through the page's form. */
async function joinRoom(page: Page, room: string): Promise<void> {
  await page.locator('#room').fill(room)
  await page.locator('#join button').click()
  await page.waitForFunction((r) => document.body.dataset.joined === r, room)
}

/** Types `text` and clicks Send. */
async function send(page: Page, text: string): Promise<void> {
  await page.locator('#message').fill(text)
  await page.locator('#send').click()
}

/** Waits until the message list shows `text` from `name`. */
async function seen(page: Page, name: string, text: string): Promise<void> {
  const item = page.locator('#messages li').filter({ hasText: text })
  await item.waitFor()
  expect(await item.locator('.name').textContent()).toBe(name)
  expect(await item.locator('.text').textContent()).toBe(text)
}

const received = async (page: Page) => (await readChat(page, 'received')).map((m) => `${m.name}: ${m.text}`)

describe.each(TRANSPORTS)('chat over %s', (transport) => {
  it('carries messages both ways between two browsers, and a REST announcement to both', async () => {
    const room = `r-${transport}`
    const a = await openChat({ transport, name: 'A', room })
    const b = await openChat({ transport, name: 'B', room })
    try {
      for (const page of [a, b]) expect(await shownTransport(page)).toEqual({ text: transport, dataset: transport })

      await send(a, `hello from A over ${transport}`)
      await seen(b, 'A', `hello from A over ${transport}`)
      await send(b, 'hi A, B here <b>not bold</b>')
      await seen(a, 'B', 'hi A, B here <b>not bold</b>')

      const response = await fetch(`${server.url}/api/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room, text: `announcement for ${room}` }),
      })
      expect(response.status).toBe(200)
      for (const page of [a, b]) await seen(page, 'server', `announcement for ${room}`)

      // Each page got every message once, in order (its own included), and rendered the markup as text.
      const expected = [`A: hello from A over ${transport}`, 'B: hi A, B here <b>not bold</b>', `server: announcement for ${room}`]
      expect(await received(a)).toEqual(expected)
      expect(await received(b)).toEqual(expected)
      expect(await b.locator('#messages b').count()).toBe(0)
      expect((await readChat(a, 'sent')).map((m) => m.text)).toEqual([`hello from A over ${transport}`])

      // Still on the forced transport after the exchange.
      for (const page of [a, b]) expect(await shownTransport(page)).toEqual({ text: transport, dataset: transport })
      await a.screenshot({ path: `${SCREENSHOTS}chat-${transport}-A.png` })
      await b.screenshot({ path: `${SCREENSHOTS}chat-${transport}-B.png` })
    } finally {
      await closeChat(a, b)
    }
  })
})

describe('chat without ?transport=', () => {
  it('uses websocket, the first preference', async () => {
    const page = await openChat({ name: 'D' })
    try {
      expect(await shownTransport(page)).toEqual({ text: 'websocket', dataset: 'websocket' })
      expect(await page.locator('#room-title').textContent()).toBe('#lobby')
    } finally {
      await closeChat(page)
    }
  })

  it('switches rooms: the old room no longer reaches the page', async () => {
    const page = await openChat({ name: 'F', room: 'first' })
    try {
      await page.locator('#room').fill('second')
      await page.locator('#join button').click()
      await page.waitForFunction(() => document.body.dataset.joined === 'second')
      expect(new URL(page.url()).searchParams.get('room')).toBe('second')
      // In order on one session: had `first` still been delivered, it would arrive before `second`.
      for (const room of ['first', 'second'])
        await fetch(`${server.url}/api/announce`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ room, text: `to ${room}` }),
        })
      await seen(page, 'server', 'to second')
      expect(await received(page)).toEqual(['server: to second'])
    } finally {
      await closeChat(page)
    }
  })

  it('shows a refused publish inline with its code', async () => {
    const page = await openChat({ name: 'E', room: 'errors' })
    try {
      await page.locator('#name').fill('')
      await send(page, 'no name')
      await page.locator('#error').waitFor()
      expect(await page.locator('#error-code').textContent()).toBe('FORBIDDEN')
      expect((await readChat(page, 'errors')).map((e) => e.code)).toEqual(['FORBIDDEN'])
      // The refused text stays in the input, and nothing was published.
      expect(await page.locator('#message').inputValue()).toBe('no name')
      expect(await received(page)).toEqual([])
    } finally {
      await closeChat(page)
    }
  })
})

describe('chat after a gap longer than the room’s history', () => {
  it('replays what the room kept and shows that some messages were missed', async () => {
    const small = createChatApp({ historySize: 3 })
    const smallServer = await listen(small.app)
    const page = await openChat({ name: 'G', room: 'gap' }, smallServer.url)
    try {
      await announce(smallServer.url, 'gap', 'm1')
      await seen(page, 'server', 'm1')
      await joinRoom(page, 'elsewhere')
      for (const n of [2, 3, 4, 5, 6]) await announce(smallServer.url, 'gap', `m${n}`)
      // Back in the room: it resubscribes from m1; the room kept m4..m6.
      await joinRoom(page, 'gap')
      await page.locator('#messages li.missed').waitFor()
      expect(await page.locator('#messages li.missed').textContent()).toBe('some messages were missed')
      expect(await readChat(page, 'missed')).toEqual([{ from: 2, to: 3 }])
      expect(await received(page)).toEqual(['server: m4', 'server: m5', 'server: m6'])
      // Where the gap is: before the messages the room still had.
      expect(await page.locator('#messages li').first().getAttribute('class')).toBe('missed')
      await page.screenshot({ path: `${SCREENSHOTS}chat-missed.png` })
    } finally {
      await closeChat(page)
      await small.sb.close()
      await smallServer.close()
    }
  })
})

describe('chat server without a browser', () => {
  it('answers 500 with a hint when the client bundle is missing, and 400 to a bad announcement', async () => {
    const { app, sb } = createChatApp({ clientBundle: '/nonexistent/switchboard.browser.js' })
    try {
      const bundle = await app.request('/switchboard.js')
      expect(bundle.status).toBe(500)
      expect(await bundle.text()).toContain('npm run build')
      const announce = await app.request('/api/announce', { method: 'POST', body: '{"room":"a:b","text":"x"}' })
      expect(announce.status).toBe(400)
      expect(await announce.json()).toMatchObject({ code: 'BAD_REQUEST' })
    } finally {
      await sb.close()
    }
  })
})
