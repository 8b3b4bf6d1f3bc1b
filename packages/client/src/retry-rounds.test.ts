import { afterEach, describe, expect, it, vi } from 'vitest'
import { connect } from './client.js'
import type { WebSocketConstructor, WebSocketLike } from './transports/transport.js'

/**
 * How often the client knocks while the server cannot be reached. A fetch stand-in records every
 * request, so the count of attempts is exact; no network is involved.
 */
const SESSION = {
  version: 1,
  sessionId: 's1',
  resumeToken: 't1',
  transports: ['websocket', 'sse', 'long-polling'],
  heartbeatMs: 25_000,
  recoveryMs: 60_000,
  pollTimeoutMs: 25_000,
  maxMessageBytes: 65_536,
  maxBatchBytes: 1_048_576,
  maxBatchFrames: 512,
}

/** Negotiate answers (when `negotiates`), every other request fails as an unreachable host does. */
function unreachable(negotiates: boolean) {
  const paths: string[] = []
  const fetchImpl = (async (input: RequestInfo | URL) => {
    const path = new URL(String(input)).pathname
    paths.push(path)
    if (negotiates && path.endsWith('/negotiate')) return Response.json(SESSION)
    throw new TypeError('fetch failed')
  }) as typeof fetch
  return { fetchImpl, paths }
}

/** A WebSocket that never opens: closed 1006 at once, as behind a proxy that refuses it. */
const RefusedWebSocket = class {
  readyState = 3
  bufferedAmount = 0
  onopen = null
  onmessage = null
  onclose: WebSocketLike['onclose'] = null
  onerror = null
  constructor() {
    queueMicrotask(() => this.onclose?.({ code: 1006, reason: '' }))
  }
  send() {}
  close() {}
} as unknown as WebSocketConstructor

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('retry rounds', () => {
  it('does not try long polling after an SSE request could not reach the server', async () => {
    const { fetchImpl, paths } = unreachable(true)
    const client = connect('http://127.0.0.1:9/rt', { fetch: fetchImpl, WebSocket: RefusedWebSocket, reconnect: { baseMs: 5, maxMs: 5 } })
    try {
      await vi.waitFor(() => expect(paths.filter((p) => p.endsWith('/sse')).length).toBeGreaterThanOrEqual(5))
      expect(paths.filter((p) => p.endsWith('/poll'))).toEqual([])
    } finally {
      client.close()
    }
  })

  it('while the browser says it is offline, waits for its online event instead of retrying', async () => {
    const win = new EventTarget()
    const nav = { onLine: false }
    vi.stubGlobal('window', win)
    vi.stubGlobal('navigator', nav)
    const { fetchImpl, paths } = unreachable(false)
    const client = connect('http://127.0.0.1:9/rt', { fetch: fetchImpl, transports: ['long-polling'], reconnect: { baseMs: 5, maxMs: 5 } })
    try {
      await vi.waitFor(() => expect(client.state).toBe('backoff'))
      // Online, a 5 ms backoff would have made dozens of attempts by now.
      await new Promise((r) => setTimeout(r, 300))
      expect(paths).toHaveLength(1)
      nav.onLine = true
      win.dispatchEvent(new Event('online'))
      await vi.waitFor(() => expect(paths.length).toBeGreaterThanOrEqual(5))
    } finally {
      client.close()
    }
  })
})
