import { decodeServerBatch, FrameType, type CloseFrame, type ErrorCode, type ServerFrame, type TransportName } from '@switchboard/protocol'
import { TRANSPORT_MODULES } from './transports/index.js'
import type { ConnectionConfig } from './connection-config.js'
import type { SessionInfo } from './negotiate.js'
import type { ClientTransport, TransportCloseInfo, TransportContext } from './transports/transport.js'

/** How one try of a transport ended: welcomed, or failed (with the server's CLOSE if it sent one). */
export type Attempt = { ok: true } | { ok: false; reason: string; code?: ErrorCode; close?: CloseFrame }

/** What an attempt reports to the connection that started it. */
export interface AttemptHost {
  /** False once the run that started the attempt is over: late events are dropped. */
  isLive(): boolean
  /**
   * WELCOME arrived, first of `frames`: the transport carries the session from now on, and the
   * frames after the WELCOME are the session's (the final words of one that ended, perhaps).
   */
  adopt(transport: ClientTransport, frames: ServerFrame[]): void
  /** Frames on the welcomed line. */
  receive(transport: ClientTransport, frames: ServerFrame[], from: number): void
  /** A welcomed transport ended. */
  lost(transport: ClientTransport, info: TransportCloseInfo): void
  /** A probe got its PONG: pause the old line and attach this one. */
  probed(transport: ClientTransport): void
  drain(transport: ClientTransport): void
  log(message: string): void
}

/**
 * Tries one transport until it is welcomed, fails, or times out; after the WELCOME it keeps
 * routing the transport's events to the host. With `ctx.probe`, the line is first proven with
 * a ping/pong while the current transport keeps carrying the session.
 */
export function attemptTransport(
  name: TransportName,
  ctx: TransportContext,
  timeoutMs: number,
  host: AttemptHost,
): { result: Promise<Attempt>; cancel(): void } {
  let welcomed = false
  let settled = false
  let resolveResult!: (a: Attempt) => void
  const result = new Promise<Attempt>((r) => (resolveResult = r))
  const resolve = (a: Attempt) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    resolveResult(a)
  }
  const fail = (reason: string, code?: ErrorCode, close?: CloseFrame) => {
    transport.close()
    resolve({ ok: false, reason, ...(code ? { code } : {}), ...(close ? { close } : {}) })
  }
  const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`, 'TIMEOUT'), timeoutMs)

  const transport: ClientTransport = TRANSPORT_MODULES[name].create(ctx, {
    onBatch(text) {
      if (!host.isLive()) return transport.close()
      let frames: ServerFrame[]
      try {
        frames = decodeServerBatch(text)
      } catch (e) {
        host.log(`undecodable batch on ${name}: ${(e as Error).message}`)
        if (!welcomed) return fail('undecodable batch', 'MALFORMED_FRAME')
        transport.close()
        return host.lost(transport, { reason: 'undecodable batch' })
      }
      if (welcomed) return host.receive(transport, frames, 0)
      const first = frames[0]
      // The session ended while this client was away: the CLOSE says why and when to return.
      if (first?.[0] === FrameType.CLOSE) return fail(first[2], first[1], first)
      if (first?.[0] !== FrameType.WELCOME) return
      if (ctx.negotiate && first[2] === undefined) return fail('WELCOME without the negotiate answer', 'PROTOCOL_MISMATCH')
      welcomed = true
      resolve({ ok: true })
      host.adopt(transport, frames)
    },
    onDrain: () => host.drain(transport),
    onProbe() {
      if (!host.isLive() || settled) return transport.close()
      host.probed(transport)
    },
    onClose(info) {
      if (!welcomed) resolve({ ok: false, ...info })
      else host.lost(transport, info)
    },
  })
  transport.open()
  return { result, cancel: () => fail('cancelled') }
}

/** A WebSocket that negotiates a new session as it opens, for `config.transports` (see TransportContext). */
export function negotiatingContext(
  config: Pick<ConnectionConfig, 'baseUrl' | 'http' | 'WebSocket' | 'requestTimeoutMs' | 'transports'>,
): TransportContext {
  const none: SessionInfo = { sessionId: '', resumeToken: '', pollTimeoutMs: 0 } as SessionInfo
  return transportContext(config, none, () => 0, false, config.transports)
}

/**
 * What every transport of a session is given (see TransportContext): built per attempt, not per
 * message, and always with the same fields (one hidden class for every client's contexts).
 */
export function transportContext(
  config: Pick<ConnectionConfig, 'baseUrl' | 'http' | 'WebSocket' | 'requestTimeoutMs'>,
  info: SessionInfo,
  ack: () => number,
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
