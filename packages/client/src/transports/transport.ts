import { SESSION_ID_PARAM, type ErrorCode, type TransportName } from '@switchboard/protocol'
import { type EndpointName, endpointUrl } from '../endpoints.js'
import type { HttpClient } from '../http/http.js'

/** The part of the WebSocket API the client uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

/**
 * A socket that is also a Node EventEmitter, as `ws`'s are: listened to with `on`, which skips the
 * DOM-style wrappers `ws` adds for `onmessage` and the event object it builds for every message.
 */
export interface EmitterWebSocket extends WebSocketLike {
  terminate(): void
  on(event: 'open' | 'error', listener: () => void): unknown
  on(event: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): unknown
  on(event: 'close', listener: (code: number, reason: { toString(): string }) => void): unknown
}

/** `ws`'s socket, known by its `on` and its `terminate` (which the DOM's WebSocket lacks). */
export function isEmitterWebSocket(socket: WebSocketLike): socket is EmitterWebSocket {
  const s = socket as Partial<EmitterWebSocket>
  return typeof s.on === 'function' && typeof s.terminate === 'function'
}

/** What every transport is given to reach its session. */
export interface TransportContext {
  /** The mount point, e.g. `http://host/rt` or `http://host/rt?tenant=x` (see mountUrl). */
  baseUrl: string
  sessionId: string
  token: string
  /** `ack.received`: the last server seq this client holds, sent on every attach (and every poll). */
  ack: { readonly received: number }
  http: HttpClient
  WebSocket: WebSocketConstructor | undefined
  pollTimeoutMs: number
  /** An upstream POST unanswered this long ends its line (code TIMEOUT). */
  requestTimeoutMs: number
  /** Open as a probe: prove the line (ping/pong) and report `onProbe`; attach only on `attach()`. */
  probe: boolean
  /**
   * No session yet (`sessionId` and `token` empty): negotiate one as the line opens, asking for
   * these transports. Only a transport the server answers first can (WebSocket).
   */
  negotiate?: readonly TransportName[]
}

export interface TransportCloseInfo {
  reason: string
  /** Set when the server said why (a close code or an error body). */
  code?: ErrorCode
}

export interface TransportEvents {
  /** One batch of server frames, still encoded. */
  onBatch(text: string): void
  /** `send` returned false earlier and the line can take more now. */
  onDrain(): void
  /** A probe got its answer: the line carries frames both ways. */
  onProbe(): void
  /** The line is gone; called once, never after `close()`. */
  onClose(info: TransportCloseInfo): void
}

/**
 * How a line carries this client's ack:
 * - `frames`: an ACK frame in every batch that leaves ('every-batch'), only once the ack is overdue
 *   ('when-overdue': after `delayMs`, or ACK_EVERY_FRAMES unacked frames), or never (the line's
 *   requests carry it);
 * - `inHeader`: each request that leaves carries the ack in a header.
 */
export interface AckCarriage {
  frames: 'every-batch' | 'when-overdue' | 'never'
  inHeader: boolean
  delayMs: number
}

/** What the rest of the client needs to know of a transport, declared by its module. */
export interface TransportTraits {
  ack: AckCarriage
  /** Each batch is one socket message: kept within maxMessageBytes too, so the server never measures frames one by one. */
  messageSized: boolean
  /** Its requests are plain HTTP to the mount's host: one that cannot reach it means no HTTP transport can. */
  http: boolean
  /**
   * The downstream is a poll the server holds at most pollTimeoutMs (silent up to that plus a
   * heartbeat), not a stream the server pings every heartbeatMs (silent up to two heartbeats).
   */
  polled: boolean
  /**
   * Requests made in one callback go in one batch at its end, unless they pass this many
   * characters: then they go at once, so the server starts on a burst while the caller's loop
   * goes on (as it would on a bare `ws.send`). Infinity: always at the end.
   */
  flushPastChars: number
}

/**
 * A line to the server. It moves encoded batches both ways and knows nothing of channels,
 * seqs or acks. Every transport has this shape, so adding one touches nothing else.
 */
export interface ClientTransport {
  readonly name: TransportName
  readonly traits: TransportTraits
  open(): void
  /** Sends one batch; false: wait for `onDrain` before sending more. */
  send(batch: string): boolean
  /** After a successful probe: attach the session to this line (transports that cannot probe ignore it). */
  attach(): void
  /**
   * Another line is taking over: keep receiving what is in flight, but start no new request that
   * would attach this line again (a long poll would steal the session back).
   */
  pause(): void
  /** Ends the line without calling `onClose`. */
  close(): void
}

export type TransportFactory = (ctx: TransportContext, events: TransportEvents) => ClientTransport

/** The URL of a session's endpoint: the mount's query, then the session id (`sid`) and `query`. */
export function endpoint(ctx: TransportContext, name: EndpointName, query?: Readonly<Record<string, string>>): string {
  return endpointUrl(ctx.baseUrl, name, { [SESSION_ID_PARAM]: ctx.sessionId, ...query })
}
