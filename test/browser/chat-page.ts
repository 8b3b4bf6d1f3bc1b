// Drives the chat example's page (examples/chat/public/app.js) through any engine's Tab,
// using only what the page exposes: `window.chat` and `document.body.dataset`.
import { vi } from 'vitest'
import type { Tab } from '../helpers/browsers.js'

/** What the page shows and holds, read in one evaluate. */
export interface PageSnapshot {
  state: string | undefined
  transport: string | undefined
  joined: string | null
  /** `name: text` of every message in the current room, in arrival order. */
  received: string[]
  /** Texts this page published and had acked. */
  sent: string[]
  errors: { code: string; message: string }[]
  /** Recorded after `record()`: every transport change and session event. */
  transports: { from: string | null; to: string | null; reason: string }[]
  sessions: { sessionId: string; resumed: boolean; reason?: string }[]
}

const SNAPSHOT = `(() => {
  const rec = window.__matrix ?? { transports: [], sessions: [] }
  return {
    state: document.body.dataset.state,
    transport: document.body.dataset.transport,
    joined: document.body.dataset.joined ?? null,
    received: window.chat.received.map((m) => m.name + ': ' + m.text),
    sent: window.chat.sent.map((m) => m.text),
    errors: window.chat.errors,
    transports: rec.transports,
    sessions: rec.sessions,
  }
})()`

export class ChatPage {
  readonly tab: Tab

  constructor(tab: Tab) {
    this.tab = tab
  }

  snapshot(): Promise<PageSnapshot> {
    return this.tab.evaluate<PageSnapshot>(SNAPSHOT)
  }

  /** Polls the page until `test` holds for its snapshot; on timeout the error shows the last snapshot. */
  async until(what: string, test: (s: PageSnapshot) => boolean, timeoutMs = 15_000): Promise<PageSnapshot> {
    let last: PageSnapshot | undefined
    try {
      return await vi.waitFor(
        async () => {
          last = await this.snapshot()
          if (!test(last)) throw new Error('not yet')
          return last
        },
        { timeout: timeoutMs, interval: 50 },
      )
    } catch {
      throw new Error(`page: timed out after ${timeoutMs} ms waiting until ${what}; last seen ${JSON.stringify(last)}`)
    }
  }

  /** Starts recording the client's `transport` and `session` events into `window.__matrix`. */
  async record(): Promise<void> {
    await this.tab.evaluate(`(() => {
      const rec = (window.__matrix = { transports: [], sessions: [] })
      window.chat.client.on('transport', (e) => rec.transports.push({ from: e.from, to: e.to, reason: e.reason }))
      window.chat.client.on('session', (e) => rec.sessions.push({ sessionId: e.sessionId, resumed: e.resumed, reason: e.reason }))
      return true
    })()`)
  }

  /** Types `text` into the composer and submits it, as a person would (the page publishes it). */
  async send(text: string): Promise<void> {
    await this.tab.evaluate(`(() => {
      document.getElementById('message').value = ${JSON.stringify(text)}
      document.getElementById('composer').requestSubmit()
      return true
    })()`)
  }
}
