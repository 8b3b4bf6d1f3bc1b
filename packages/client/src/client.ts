import {
  encodeData,
  FrameType,
  OUTBOX_BYTES,
  OUTBOX_FRAMES,
  QUEUED_BYTES,
  QUEUED_REQUESTS,
  TRANSPORTS,
  SwitchboardError,
  type ServerDataFrame,
  type TransportName,
} from '@switchboard/protocol'
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { Channel } from './channel.js'
import { Connection, type ConnectionConfig, type ConnectionEvents } from './connection.js'
import { mountUrl } from './endpoints.js'
import { fetchHttp, type HttpClient } from './http/http.js'
import { createTransportMemory } from './remember.js'
import type { LogEvent } from './log.js'
import type { ClientState } from './state.js'
import type { WebSocketConstructor } from './transports/transport.js'
import { platformTabEnvironment, type TabEnvironment } from './tabs/environment.js'
import type { TabMember } from './tabs/member.js'
import { upgradeOptions } from './upgrade.js'
import { channelHost, shareAcrossTabs, type ShareAcrossTabs } from './tabs/share.js'

/** Options of connect(). All optional. */
export interface ClientOptions {
  /**
   * Transports to use, in preference order. Default: `['websocket', 'sse', 'long-polling']`.
   * Pass one to force it.
   */
  transports?: readonly TransportName[]
  /** WebSocket implementation; default `globalThis.WebSocket`. Node 20 has none: pass `ws`'s. */
  WebSocket?: WebSocketConstructor
  /**
   * fetch implementation for the HTTP requests. Default: the browser's fetch; in Node, node:http
   * with a keep-alive pool (a fifth of fetch's CPU per request), unless a fetch is passed here.
   */
  fetch?: typeof fetch
  /**
   * Headers for negotiate (where `authenticate` runs), e.g. `{ authorization: 'Bearer …' }`.
   * Without them a new session is negotiated in the WebSocket upgrade when WebSocket comes first,
   * saving a round trip: `authenticate` then reads that GET request (cookies, the mount's query).
   */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)
  /** fetch credentials mode (not used by Node's default, node:http); default 'same-origin'. */
  credentials?: RequestCredentials
  /** How long one transport may take to attach before the next is tried (ms). Default 5000. */
  attemptTimeoutMs?: number
  /**
   * How long an upstream POST (SSE and long polling) may go unanswered before its line is declared
   * dead and the session reattaches (ms). Default 15000. The server answers a POST as soon as it
   * has read it: a proxy that swallows it is what this catches.
   */
  requestTimeoutMs?: number
  /** Reconnect backoff (a quick first retry, then decorrelated jitter up to maxMs; see backoff.ts), or false to close on the first drop. */
  reconnect?: BackoffOptions | false
  /**
   * Outbox bound: requests sent but not yet acked by the server. Past it, publish and call wait,
   * in order, for the server's acks to make room (see `drained()`).
   */
  maxOutboxFrames?: number
  maxOutboxBytes?: number
  /**
   * How many requests (and how many bytes of them) may wait for room in the outbox. Past it,
   * publish and call reject OUTBOX_FULL. Default 1,000,000 and 256 MiB: far beyond a burst of
   * 100,000; a producer that never pauses should `await client.drained()` now and then.
   */
  maxQueuedRequests?: number
  maxQueuedBytes?: number
  /**
   * While on SSE or long polling, probe WebSocket in the background and move to it when it works
   * (first probe after `delayMs`, doubling up to `maxDelayMs` after failures), or false. Default { 1000, 60000 }.
   */
  upgrade?: { delayMs?: number; maxDelayMs?: number } | false
  /** How long the transport that last worked is remembered per server (localStorage, or memory in Node); 0 disables. Default 24 h. */
  rememberTransportMs?: number
  /** Default timeout for call() (ms). Default 10000. */
  callTimeoutMs?: number
  /** Receives log events; nothing is logged without it. */
  logger?: (event: LogEvent) => void
  /**
   * Tabs of one origin share one connection: the tab holding a Web Lock runs it, the others reach
   * it over a BroadcastChannel, and the next tab takes over when it closes. Only tabs with the same
   * URL, transports and headers share, and with `{ scope }` (say, the user's id) the same scope too.
   * Default: on in pages where Web Locks and BroadcastChannel exist (secure contexts), else off;
   * `false` gives this tab its own connection. See docs/tabs.md.
   */
  shareAcrossTabs?: ShareAcrossTabs
}

/** A client's connection to one Switchboard server. Create it with connect(). */
export class SwitchboardClient {
  /** The mount URL: absolute, without a trailing slash or fragment, its query string kept. */
  readonly url: string
  #connection: Connection | TabMember
  #channels = new Map<string, Channel<unknown>>()
  #callTimeoutMs: number
  #ready: Promise<void>

  /** The HTTP client used when no `fetch` option is given: the global fetch (Node's build: node:http). */
  protected static defaultHttp(credentials: RequestCredentials): HttpClient {
    return fetchHttp(globalThis.fetch.bind(globalThis), credentials)
  }

  /** What tabs share a connection through; null where the platform lacks a part (then each tab has its own). */
  protected static tabEnvironment(): TabEnvironment | null {
    return platformTabEnvironment()
  }

  constructor(url: string, options: ClientOptions = {}) {
    this.url = mountUrl(url, (globalThis as { location?: { href: string } }).location?.href)
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000
    const headers = options.headers
    const credentials = options.credentials ?? 'same-origin'
    const config: ConnectionConfig = {
      baseUrl: this.url,
      transports: options.transports ?? TRANSPORTS,
      http: options.fetch ? fetchHttp(options.fetch, credentials) : new.target.defaultHttp(credentials),
      WebSocket: options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
      headers: headersOf(headers),
      negotiateInUpgrade: headers === undefined && credentials !== 'omit',
      attemptTimeoutMs: options.attemptTimeoutMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      reconnect: options.reconnect ?? DEFAULT_BACKOFF,
      maxOutboxFrames: options.maxOutboxFrames ?? OUTBOX_FRAMES,
      maxOutboxBytes: options.maxOutboxBytes ?? OUTBOX_BYTES,
      maxQueuedRequests: options.maxQueuedRequests ?? QUEUED_REQUESTS,
      maxQueuedBytes: options.maxQueuedBytes ?? QUEUED_BYTES,
      upgrade: upgradeOptions(options.upgrade),
      memory: options.rememberTransportMs === 0 ? null : createTransportMemory(options.rememberTransportMs ?? 24 * 60 * 60 * 1000),
      onData: (frame) => this.#onData(frame),
      logger: options.logger,
    }
    this.#connection = shareAcrossTabs(config, options.shareAcrossTabs, new.target.tabEnvironment()) ?? new Connection(config)
    this.#connection.listen('session', ({ resumed }) => {
      if (!resumed) for (const channel of this.#channels.values()) channel.renew()
    })
    this.#ready = new Promise((resolve, reject) => {
      const off = this.#connection.on('state', ({ to }) => {
        if (to === 'open') resolve()
        else if (to === 'closed') reject(this.#closeError ?? new SwitchboardError('CLOSED'))
        if (to === 'open' || to === 'closed') off()
      })
    })
    this.#ready.catch(() => {})
    this.#connection.listen('error', (e) => (this.#closeError = e))
  }

  /** The error that closed the client, if one did (made on demand: an Error captures a stack). */
  #closeError: Error | undefined

  /** 'idle' | 'connecting' | 'open' | 'upgrading' | 'backoff' | 'closed' */
  get state(): ClientState {
    return this.#connection.state
  }

  /** The transport carrying the session now, or null between transports. */
  get transport(): TransportName | null {
    return this.#connection.transport
  }

  /** The current session's id, once negotiated. */
  get sessionId(): string | null {
    return this.#connection.info?.sessionId ?? null
  }

  /** Listens to `state`, `transport`, `session` and `error`; returns a function that removes the listener. */
  on<K extends keyof ConnectionEvents>(event: K, listener: (payload: ConnectionEvents[K]) => void): () => void {
    return this.#connection.on(event, listener)
  }

  /**
   * Resolves once no request waits for room in the outbox: a producer that sends faster than the
   * line carries can pace itself with it.
   * @example
   * for (const tick of ticks) {
   *   void prices.publish(tick)
   *   if (client.queued > 10_000) await client.drained()
   * }
   */
  drained(): Promise<void> {
    return this.#connection.session.drained()
  }

  /** Requests waiting for room in the outbox (made faster than the server acks them). */
  get queued(): number {
    return this.#connection.session.queued
  }

  /** Resolves when the client is first open; rejects if it closes before. */
  ready(): Promise<void> {
    return this.#ready
  }

  /** The channel named `name` (one object per name). */
  channel<Msg = unknown>(name: string): Channel<Msg> {
    let channel = this.#channels.get(name)
    if (!channel) {
      channel = new Channel<unknown>(name, channelHost(this.#connection.session))
      this.#channels.set(name, channel)
    }
    return channel as Channel<Msg>
  }

  /**
   * Calls a server RPC method and resolves with its result. Rejects with a coded SwitchboardError:
   * UNKNOWN_RPC, RPC_ERROR (or the handler's own code), TIMEOUT, SESSION_LOST, CLOSED, ...
   */
  call<Req = unknown, Res = unknown>(method: string, data: Req, options: { timeoutMs?: number } = {}): Promise<Res> {
    try {
      return this.#connection.session.requestData(
        FrameType.CALL,
        this.#methodJson(method),
        encodeData(data),
        options.timeoutMs ?? this.#callTimeoutMs,
      ) as Promise<Res>
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** A method name as JSON, encoded once per name (up to 256 names; more are encoded each call). */
  #methodJson(method: string): string {
    const names = (this.#methodNames ??= new Map())
    let json = names.get(method)
    if (json === undefined) {
      json = JSON.stringify(method)
      if (names.size < 256) names.set(method, json)
    }
    return json
  }

  /** Made on the first call: a Map's table is 150 bytes, and many clients never call. */
  #methodNames: Map<string, string> | undefined

  /** Closes the client: pending requests reject with CLOSED; it does not reconnect. */
  close(): void {
    this.#connection.close()
  }

  /** Starts connecting on the next microtask, so listeners added right after connect() see every event. */
  open(): this {
    queueMicrotask(() => this.#connection.start())
    return this
  }

  #onData(frame: ServerDataFrame): void {
    if (frame[0] === FrameType.MESSAGE) this.#channels.get(frame[2])?.deliver(frame[3], frame[4], frame[5])
    else if (frame[0] === FrameType.GAP) this.#channels.get(frame[2])?.gap(frame[3], frame[4])
  }
}

/** The headers option as a function (one shared function when there are none). */
function headersOf(headers: ClientOptions['headers']): () => Record<string, string> | Promise<Record<string, string>> {
  if (typeof headers === 'function') return headers
  return headers === undefined ? noHeaders : () => headers
}

function noHeaders(): Record<string, string> {
  return {}
}

/**
 * Connects to a Switchboard server mounted at `url` (absolute, or relative to the page).
 * @example
 * const client = connect('/rt')
 * const room = client.channel<{ text: string }>('room:lobby')
 * room.on('message', (m) => console.log(m.data.text))
 * await room.subscribe()
 * await room.publish({ text: 'hello' })
 */
export function connect(url: string, options?: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(url, options).open()
}
