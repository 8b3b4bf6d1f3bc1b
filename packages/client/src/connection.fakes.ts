import { type ClientFrame, FrameType, type NegotiateResponse, type ServerFrame } from '@switchboard/protocol'
import type { ConnectionConfig } from './connection-config.js'
import type { HttpAnswer, HttpClient } from './http/http.js'
import type { WebSocketConstructor, WebSocketLike } from './transports/transport.js'

/**
 * A fake Switchboard server for connection.test.ts: negotiate and long polls answered by an
 * HttpClient, WebSocket lines by a constructor whose server side the test drives.
 */

export const HEARTBEAT_MS = 1_000

/** A WebSocket whose server side is the test. */
export class FakeSocket implements WebSocketLike {
  readyState = 0
  bufferedAmount = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly sent: ClientFrame[][] = []
  /** The code the client closed it with, if it did. */
  closedWith: number | undefined

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientFrame[])
  }
  close(code = 1005): void {
    this.closedWith = code
    this.readyState = 3
  }
  /** The upgrade succeeds: the client sends its HELLO. */
  accept(): void {
    this.readyState = 1
    this.onopen?.({})
  }
  deliver(...frames: ServerFrame[]): void {
    this.onmessage?.({ data: JSON.stringify(frames) })
  }
  /** The line ends from the far side: 1006 for a network drop, 4000-4999 for a server refusal. */
  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }
}

export const sessionInfo = (sessionId: string, recoveryMs = 60_000): NegotiateResponse => ({
  version: 1,
  sessionId,
  resumeToken: `token-${sessionId}`,
  transports: ['websocket', 'sse', 'long-polling'],
  heartbeatMs: HEARTBEAT_MS,
  recoveryMs,
  pollTimeoutMs: 5_000,
  maxMessageBytes: 65_536,
  maxBatchBytes: 1_048_576,
  maxBatchFrames: 512,
})

const answer = (status: number, body: string): HttpAnswer => ({ status, text: async () => body, read: async (onText) => onText(body) })

/** The fake server: hands out sessions s1, s2, …; attaches long polls at once; holds the next poll. */
export class FakeServer {
  readonly sockets: FakeSocket[] = []
  negotiations = 0
  /** Requests held open (long polls), until the client aborts them. */
  readonly held: AbortSignal[] = []
  /** While set, negotiate answers only once it resolves. */
  holdNegotiate: Promise<void> | null = null
  /** How long the sessions it hands out are held after their line is lost. */
  recoveryMs = 60_000
  readonly WebSocket: WebSocketConstructor

  constructor() {
    const sockets = this.sockets
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(url)
        sockets.push(this)
      }
    }
  }

  /** The last WebSocket the client opened. */
  get socket(): FakeSocket {
    const last = this.sockets.at(-1)
    if (!last) throw new Error('no WebSocket was opened')
    return last
  }

  readonly http: HttpClient = async (url, request) => {
    const { pathname, searchParams } = new URL(url)
    if (pathname.endsWith('/negotiate')) {
      const n = ++this.negotiations
      if (this.holdNegotiate) await this.holdNegotiate
      return answer(200, JSON.stringify(sessionInfo(`s${n}`, this.recoveryMs)))
    }
    if (pathname.endsWith('/poll') && searchParams.has('attach')) return answer(200, JSON.stringify([[FrameType.WELCOME, 0]]))
    const signal = request.signal ?? AbortSignal.abort()
    this.held.push(signal)
    return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
  }
}

/** A connection's config against `server`: WebSocket only, small outbox, quick retries, no upgrade or memory. */
export function fakeConfig(server: FakeServer, config: Partial<ConnectionConfig> = {}): ConnectionConfig {
  return {
    baseUrl: 'http://switchboard.test/rt',
    transports: ['websocket'],
    http: server.http,
    WebSocket: server.WebSocket,
    headers: () => ({}),
    negotiateInUpgrade: false,
    attemptTimeoutMs: 2_000,
    requestTimeoutMs: 15_000,
    reconnect: { baseMs: 100, maxMs: 1_000 },
    maxOutboxFrames: 100,
    maxOutboxBytes: 1_000_000,
    upgrade: false,
    memory: null,
    onData: () => {},
    logger: undefined,
    ...config,
  }
}
