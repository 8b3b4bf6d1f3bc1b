import { SwitchboardError, type CloseFrame, type ErrorCode, type TransportName } from '@switchboard/protocol'
import type { Attempt } from './attempt.js'
import type { ConnectionConfig } from './connection-config.js'
import { FATAL_CODES, negotiateFor, refusalOf, type SessionInfo } from './negotiate.js'
import { TRANSPORT_MODULES } from './transports/index.js'

/** Codes that mean the server no longer holds the session. */
export const SESSION_GONE = new Set<ErrorCode>(['UNKNOWN_SESSION', 'INVALID_TOKEN', 'SESSION_LOST', 'SLOW_CONSUMER', 'SERVER_SHUTDOWN'])

/**
 * The preferred transports the server offers, starting with the one that worked last; `failed`
 * (one that just failed to negotiate) is tried last.
 */
export function fallbackOrder(
  preferred: readonly TransportName[],
  offered: readonly TransportName[],
  lastWorked: TransportName | null,
  failed: TransportName | null = null,
): TransportName[] {
  const list = preferred.filter((t) => offered.includes(t))
  const i = lastWorked ? list.indexOf(lastWorked) : -1
  const order = i <= 0 ? list : [...list.slice(i), ...list.slice(0, i)]
  return failed === null ? order : [...order.filter((t) => t !== failed), ...order.filter((t) => t === failed)]
}

/**
 * A new session is negotiated in the WebSocket upgrade when the client sends no headers and
 * would try WebSocket first anyway; the HTTP transports always negotiate with a request.
 */
export function negotiatesInUpgrade(c: ConnectionConfig, lastWorked: TransportName | null): boolean {
  return c.negotiateInUpgrade && c.WebSocket !== undefined && fallbackOrder(c.transports, c.transports, lastWorked)[0] === 'websocket'
}

/**
 * Tries the transports of `order` in turn until one is welcomed, the server ends the session
 * (its CLOSE), or trying the next cannot help: a refusal for good or a session gone, or an HTTP
 * request that could not reach the host the next one goes to as well. Resolves with the last
 * outcome, or undefined once the run that asked is over.
 */
export async function tryInTurn(
  order: readonly TransportName[],
  attempt: (name: TransportName) => Promise<Attempt>,
  isLive: () => boolean,
  log: (message: string) => void,
): Promise<Attempt | undefined> {
  let last: Attempt = { ok: false, reason: 'no transport offered' }
  for (const name of order) {
    last = await attempt(name)
    if (!isLive()) return undefined
    if (last.ok || last.close) return last
    log(`${name} failed: ${last.reason}`)
    if (last.code && (FATAL_CODES.has(last.code) || SESSION_GONE.has(last.code))) break
    if (last.code === 'CONNECT_FAILED' && TRANSPORT_MODULES[name].traits.http) break
  }
  return last
}

/** What one connect run asks of its connection (see connectRun). */
export interface RunHost {
  readonly config: ConnectionConfig
  lastWorked(): TransportName | null
  /** Try every transport of the order in turn, or only the first (see RetrySchedule.wholeRound). */
  wholeRound(): boolean
  info(): SessionInfo | null
  /** False once the run was superseded (a close, a newer run): it stops at its next step. */
  live(): boolean
  attempt(name: TransportName, info: SessionInfo | null): Promise<Attempt>
  negotiated(info: SessionInfo): void
  failed(error: SwitchboardError): void
  sessionEnded(close: CloseFrame): void
  sessionGone(code: ErrorCode): void
  log(message: string): void
}

/**
 * One run of finding a line: a new session negotiates in a WebSocket upgrade when it can, else
 * over HTTP; then the transports are tried in fallback order. A session the server no longer
 * holds is renegotiated (twice at most); any other failure goes to `failed`.
 */
export async function connectRun(host: RunHost): Promise<void> {
  let renegotiations = 0
  for (;;) {
    /** A transport that just failed to negotiate: tried last in this round. */
    let failed: TransportName | null = null
    if (!host.info() && negotiatesInUpgrade(host.config, host.lastWorked())) {
      const outcome = await host.attempt('websocket', null)
      if (!host.live() || outcome.ok) return
      // The server refused the session: the refusal negotiate would have answered.
      if (outcome.close) return host.failed(refusalOf(outcome.close))
      // The line failed (a proxy that refuses upgrades, a timeout): negotiate over HTTP.
      host.log(`websocket failed to negotiate: ${outcome.reason}`)
      failed = 'websocket'
    }
    let info = host.info()
    if (!info) {
      try {
        info = await negotiateFor(host.config)
      } catch (e) {
        if (!host.live()) return
        return host.failed(e instanceof SwitchboardError ? e : new SwitchboardError('CONNECT_FAILED', String(e)))
      }
      // Kept even when the run was superseded meanwhile: the next run goes on with this session.
      host.negotiated(info)
      if (!host.live()) return
    }
    const session = info
    const order = fallbackOrder(host.config.transports, session.transports, host.lastWorked(), failed)
    const last = await tryInTurn(host.wholeRound() ? order : order.slice(0, 1), (name) => host.attempt(name, session), host.live, host.log)
    if (last === undefined || last.ok) return
    if (last.close) return host.sessionEnded(last.close)
    const code = last.code
    if (code && SESSION_GONE.has(code) && renegotiations++ < 2) {
      host.sessionGone(code)
      continue
    }
    return host.failed(new SwitchboardError(code && FATAL_CODES.has(code) ? code : 'CONNECT_FAILED', last.reason))
  }
}
