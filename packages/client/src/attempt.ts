import { decodeServerBatch, FrameType, type CloseFrame, type ErrorCode, type ServerFrame, type TransportName } from '@switchboard/protocol'
import { TRANSPORT_MODULES } from './transports/index.js'
import type { ConnectionConfig } from './connection-config.js'
import type { SessionInfo } from './negotiate.js'
import type { ClientTransport, TransportCloseInfo, TransportContext, TransportEvents } from './transports/transport.js'

/** How one try of a transport ended: welcomed, or failed (with the server's CLOSE if it sent one). */
export type Attempt = { ok: true } | { ok: false; reason: string; code?: ErrorCode; close?: CloseFrame }

/** The outcome of every welcomed attempt: one object, not one a connect. */
const WELCOMED: Attempt = { ok: true }

/**
 * What an attempt reports to the connection that started it: the connection itself, not an object
 * of closures per attempt (a welcomed attempt lives as long as its line).
 */
export interface AttemptHost {
  /** False once the run that started `attempt` is over: late events are dropped. */
  isLive(attempt: TransportAttempt): boolean
  /**
   * WELCOME arrived, first of `frames`: the transport carries the session from now on, and the
   * frames after the WELCOME are the session's (the final words of one that ended, perhaps).
   */
  adopt(attempt: TransportAttempt, transport: ClientTransport, frames: ServerFrame[]): void
  /** Frames on the welcomed line. */
  receive(transport: ClientTransport, frames: ServerFrame[], from: number): void
  /** A welcomed transport ended. */
  lost(transport: ClientTransport, info: TransportCloseInfo): void
  /** A probe got its PONG: pause the old line and attach this one. */
  probed(transport: ClientTransport): void
  drain(transport: ClientTransport): void
  log(kind: 'transport', message: string): void
}

/**
 * Tries one transport until it is welcomed, fails, or times out; after the WELCOME it keeps
 * routing the transport's events to the host. With `ctx.probe`, the line is first proven with
 * a ping/pong while the current transport keeps carrying the session. A class, not closures:
 * it lives as long as its line, and a process may hold 10,000 lines.
 */
export class TransportAttempt implements TransportEvents {
  /** The connection's run that started it (see AttemptHost.isLive). */
  readonly generation: number
  /** A probe beside the current line (an upgrade), not a line for a session that has none. */
  readonly probe: boolean
  /** Its WELCOME brings the negotiate answer: the session is new. */
  readonly negotiates: boolean
  readonly #name: TransportName
  readonly #host: AttemptHost
  readonly #transport: ClientTransport
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Until it settles: the promise `start` returned is then the awaiting run's alone to hold. */
  #resolve: ((a: Attempt) => void) | undefined
  #welcomed = false

  constructor(name: TransportName, ctx: TransportContext, host: AttemptHost, generation: number) {
    this.#name = name
    this.negotiates = ctx.negotiate !== undefined
    this.probe = ctx.probe
    this.generation = generation
    this.#host = host
    this.#transport = TRANSPORT_MODULES[name].create(ctx, this)
  }

  /** Opens the transport; settles once: welcomed, failed, timed out or cancelled. */
  start(timeoutMs: number): Promise<Attempt> {
    const result = new Promise<Attempt>((r) => (this.#resolve = r))
    this.#timer = setTimeout(() => this.#fail(`no answer within ${timeoutMs} ms`, 'TIMEOUT'), timeoutMs)
    this.#transport.open()
    return result
  }

  cancel(): void {
    this.#fail('cancelled')
  }

  onBatch(text: string): void {
    const host = this.#host
    const transport = this.#transport
    if (!host.isLive(this)) return transport.close()
    let frames: ServerFrame[]
    try {
      frames = decodeServerBatch(text)
    } catch (e) {
      host.log('transport', `undecodable batch on ${this.#name}: ${(e as Error).message}`)
      if (!this.#welcomed) return this.#fail('undecodable batch', 'MALFORMED_FRAME')
      transport.close()
      return host.lost(transport, { reason: 'undecodable batch' })
    }
    if (this.#welcomed) return host.receive(transport, frames, 0)
    const first = frames[0]
    // The session ended while this client was away: the CLOSE says why and when to return.
    if (first?.[0] === FrameType.CLOSE) return this.#fail(first[2], first[1], first)
    if (first?.[0] !== FrameType.WELCOME) return
    if (this.negotiates && first[2] === undefined) return this.#fail('WELCOME without the negotiate answer', 'PROTOCOL_MISMATCH')
    this.#welcomed = true
    this.#settle(WELCOMED)
    host.adopt(this, transport, frames)
  }

  onDrain(): void {
    this.#host.drain(this.#transport)
  }

  onProbe(): void {
    if (!this.#host.isLive(this) || this.#resolve === undefined) return this.#transport.close()
    this.#host.probed(this.#transport)
  }

  onClose(info: TransportCloseInfo): void {
    if (!this.#welcomed) this.#settle({ ok: false, ...info })
    else this.#host.lost(this.#transport, info)
  }

  #settle(a: Attempt): void {
    const resolve = this.#resolve
    if (resolve === undefined) return
    // Neither a cleared Timeout (120 bytes) nor the resolve function stays with the line.
    this.#resolve = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
    resolve(a)
  }

  #fail(reason: string, code?: ErrorCode, close?: CloseFrame): void {
    this.#transport.close()
    this.#settle({ ok: false, reason, ...(code ? { code } : {}), ...(close ? { close } : {}) })
  }
}

const NO_SESSION = { sessionId: '', resumeToken: '', pollTimeoutMs: 0 } as SessionInfo
const NOTHING_RECEIVED = { received: 0 }

/** A WebSocket that negotiates a new session as it opens, for `config.transports` (see TransportContext). */
export function negotiatingContext(
  config: Pick<ConnectionConfig, 'baseUrl' | 'http' | 'WebSocket' | 'requestTimeoutMs' | 'transports'>,
): TransportContext {
  return transportContext(config, NO_SESSION, NOTHING_RECEIVED, false, config.transports)
}

/**
 * What every transport of a session is given (see TransportContext): built per attempt, not per
 * message, and always with the same fields (one hidden class for every client's contexts).
 */
export function transportContext(
  config: Pick<ConnectionConfig, 'baseUrl' | 'http' | 'WebSocket' | 'requestTimeoutMs'>,
  info: SessionInfo,
  ack: TransportContext['ack'],
  probe: boolean,
  negotiate?: readonly TransportName[],
): TransportContext {
  return {
    baseUrl: config.baseUrl,
    sessionId: info.sessionId,
    token: info.resumeToken,
    ack,
    http: config.http,
    WebSocket: config.WebSocket,
    pollTimeoutMs: info.pollTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    probe,
    negotiate,
  }
}
