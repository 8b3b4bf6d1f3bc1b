import {
  FrameType,
  SwitchboardError,
  type CloseFrame,
  type ErrorCode,
  type ServerFrame,
  type TransportName,
  type WelcomeFrame,
} from '@switchboard/protocol'
import { negotiatingContext, TransportAttempt, transportContext, type Attempt, type AttemptHost } from './attempt.js'
import { DEFAULT_BACKOFF } from './backoff.js'
import { connectRun, SESSION_GONE } from './fallback.js'
import { Emitter } from './emitter.js'
import { type ConnectionEvents, SessionReport } from './events.js'
import { hintsAvailable, ignoreHints, watchHints } from './hints.js'
import type { LogEvent } from './log.js'
import { Liveness, lineDeadlineMs } from './liveness.js'
import { FATAL_CODES, type SessionInfo } from './negotiate.js'
import { RetrySchedule } from './retry.js'
import { ClientSession } from './session.js'
import { sessionConfigOf } from './session-config.js'
import { assertTransition, type ClientState } from './state.js'
import { Upgrader } from './upgrade.js'
import type { ConnectionConfig } from './connection-config.js'
import type { ClientTransport, TransportCloseInfo } from './transports/transport.js'
export type { ConnectionConfig } from './connection-config.js'
export type { ConnectionEvents, SessionChange, TransportChange } from './events.js'

/**
 * Finds a line and keeps one: negotiates a session, tries transports in order (each with a
 * timeout), reattaches after a drop with backoff, renegotiates when the session is gone. State
 * changes go through one `transition()`. Internal: its public methods beyond the client's are its
 * attempts' callbacks (AttemptHost).
 */
export class Connection extends Emitter<ConnectionEvents> implements AttemptHost {
  readonly session: ClientSession
  #config: ConnectionConfig
  #state: ClientState = 'idle'
  #info: SessionInfo | null = null
  #transport: ClientTransport | null = null
  /** Every attempt in flight, at most two (an array: a Set's table is 120 bytes held for the session's life). */
  #attempts: TransportAttempt[] = []
  #lastWorked: TransportName | null = null
  /** Bumped on every (re)start and on close: async steps of an older run stop when it changed. */
  #generation = 0
  #retry: RetrySchedule
  /** Dead when nothing (not even a heartbeat) arrives in time. */
  #liveness: Liveness
  /** Made when a line the session could upgrade from is adopted: most sessions never need one. */
  #upgrader: Upgrader | null = null
  #report = new SessionReport()
  #stopHints: () => void = ignoreHints

  constructor(config: ConnectionConfig) {
    super()
    this.#config = config
    this.#retry = new RetrySchedule(config.reconnect || DEFAULT_BACKOFF)
    this.#lastWorked = config.memory?.get(config.baseUrl) ?? null
    // Too much arrived ahead of a gap: drop the line and reattach, so the server resends
    // everything after our ack (the gap first) instead of waiting on a frame that may never come.
    this.session = new ClientSession(
      sessionConfigOf(config, (seq, expected) => this.#loseLine(`dropped server frame ${seq}: too much held ahead of the gap at ${expected}`)),
    )
    this.#liveness = new Liveness(
      (silent) => this.#transport && this.lost(this.#transport, { reason: `nothing received for ${silent} ms`, code: 'TIMEOUT' }),
    )
  }

  get state(): ClientState {
    return this.#state
  }

  get transport(): TransportName | null {
    return this.#transport?.name ?? null
  }

  get info(): SessionInfo | null {
    return this.#info
  }

  start(): void {
    if (this.#state !== 'idle') return
    this.#transition('connecting', 'connect() called')
    // Handlers only where a browser gives hints: a Node process of 10,000 clients holds none.
    if (hintsAvailable()) this.#stopHints = watchHints({ onWake: () => this.#onWake(), onOffline: () => this.#loseLine('the browser went offline') })
    void this.#run(++this.#generation)
  }

  #onWake(): void {
    if (this.#state !== 'backoff') return
    const gen = this.#generation
    if (this.#retry.wake(() => this.#retryNow(gen, 'the server asked to wait')) > 0) return
    this.#retryNow(gen, 'network or page is back')
  }

  /** Drops the current line for `reason`, as if it had died: the session reattaches after a backoff. */
  #loseLine(reason: string): void {
    this.log('transport', reason)
    if (this.#transport) this.lost(this.#transport, { reason })
  }

  close(reason = 'close() called', error?: SwitchboardError): void {
    if (this.#state === 'closed') return
    this.#stopHints()
    this.#generation++
    this.#retry.cancel()
    this.#dropLine(reason)
    this.session.reset(new SwitchboardError('CLOSED', error ? `The client closed: ${error.message}` : undefined), true)
    // The error first, so a `state` listener seeing `closed` can already know why.
    if (error) this.emit('error', error)
    this.#transition('closed', reason, error?.code)
  }

  /** One run of finding a line (see connectRun); a newer generation supersedes it. */
  #run(gen: number): Promise<void> {
    const live = () => gen === this.#generation
    return connectRun({
      config: this.#config,
      lastWorked: () => this.#lastWorked,
      wholeRound: () => this.#retry.wholeRound,
      info: () => this.#info,
      live,
      attempt: (name, info) => this.#attempt(name, info, gen),
      negotiated: (info) => this.#negotiated(info),
      failed: (error) => this.#failed(error),
      sessionEnded: (close) => this.#sessionEnded(close, false),
      sessionGone: (code) => this.#sessionGone(code),
      log: (message) => this.log('transport', message),
    })
  }

  /** Tries one transport (see TransportAttempt); `probe` proves it first. Without `info`, its WELCOME negotiates the session. */
  #attempt(name: TransportName, info: SessionInfo | null, gen: number, probe = false): Promise<Attempt> {
    const ctx = info ? transportContext(this.#config, info, this.session, probe) : negotiatingContext(this.#config)
    const attempt = new TransportAttempt(name, ctx, this, gen)
    this.#attempts.push(attempt)
    return attempt.start(this.#config.attemptTimeoutMs).finally(() => (this.#attempts = this.#attempts.filter((a) => a !== attempt)))
  }

  isLive(attempt: TransportAttempt): boolean {
    return attempt.generation === this.#generation
  }

  adopt(attempt: TransportAttempt, transport: ClientTransport, frames: ServerFrame[]): void {
    if (attempt.negotiates) this.#negotiated((frames[0] as WelcomeFrame)[2]!)
    this.#adopt(transport, frames, attempt.probe ? 'upgrade' : 'welcomed')
  }

  drain(transport: ClientTransport): void {
    if (this.#transport === transport) this.session.drain()
  }

  #upgraderNow(): Upgrader {
    return (this.#upgrader ??= new Upgrader(this.#config.upgrade, this.#config.transports, !!this.#config.WebSocket, {
      current: () =>
        this.#state === 'open' && this.#transport && this.#info
          ? { line: this.#transport, offered: this.#info.transports, gen: this.#generation }
          : null,
      probe: (target, gen) => this.#attempt(target, this.#info!, gen, true),
      unchanged: (gen, line) => gen === this.#generation && this.#transport === line,
      probing: (target) => this.#transition('upgrading', `probing ${target}`),
      failed: (reason) => this.#upgradeFailed(reason),
    }))
  }

  /** A probe proved `line` carries frames both ways: pause the old one (it still receives), attach the new. */
  probed(line: ClientTransport): void {
    this.session.detach()
    this.#transport?.pause()
    line.attach()
  }

  /** A new session: its id, token and the server's limits. */
  #negotiated(info: SessionInfo): void {
    this.#info = info
    this.session.setLimits(info)
  }

  /** Frames on a welcomed line: only the line that carries the session counts. */
  receive(transport: ClientTransport, frames: ServerFrame[], from: number): void {
    if (transport !== this.#transport) return
    this.#liveness.touch()
    const close = frames.findIndex((f) => f[0] === FrameType.CLOSE)
    if (close === -1) return this.session.receive(frames, from)
    this.session.receive(frames.slice(0, close), from)
    // The server ended the session.
    const frame = frames[close] as CloseFrame
    this.#dropLine(frame[2])
    this.#sessionEnded(frame, true)
  }

  /**
   * A probe failed: back to the old line, or, when it was already paused (the server may already
   * have moved the session), a reattach from our ack, which is lossless.
   */
  #upgradeFailed(reason: string): boolean {
    if (this.session.paused && this.#transport) {
      this.#loseLine(`${reason} after the switch began`)
      return true
    }
    this.log('transport', reason)
    this.#transition('open', reason)
    return false
  }

  /**
   * A transport was welcomed (`frames[0]` is the WELCOME): it carries the session from now on; an
   * older one is closed. The `session` event waits for the rest of the batch: a session that ended
   * while the client was away answers with its final words (WELCOME, data, CLOSE), and resumed
   * nothing.
   */
  #adopt(transport: ClientTransport, frames: ServerFrame[], reason: string): void {
    const serverAck = (frames[0] as WelcomeFrame)[1]
    const old = this.#transport
    if (old && old !== transport) old.close()
    this.#lastWorked = transport.name
    this.#config.memory?.set(this.#config.baseUrl, transport.name)
    this.#retry.adopted(this.#info!.recoveryMs)
    if (reason === 'upgrade') this.#upgrader?.succeeded()
    const change = this.#report.adopted(this.#info!.sessionId)
    this.#setTransport(transport, reason)
    this.session.attach(transport, serverAck)
    this.#transition('open', `${transport.name} attached`)
    this.#liveness.watch(lineDeadlineMs(transport.traits.polled, this.#info!))
    // No transport is better than the first preferred one: nothing to probe from it.
    if (this.#config.upgrade && transport.name !== this.#config.transports[0]) this.#upgraderNow().schedule()
    else this.#upgrader?.stop()
    this.receive(transport, frames, 1)
    // Not when its final words ended the session: that resumed nothing.
    if (change && this.#transport === transport) this.emit('session', change)
  }

  /** The live transport dropped: reattach the same session after a backoff. */
  lost(transport: ClientTransport, info: TransportCloseInfo): void {
    if (transport !== this.#transport) return
    // Mid-upgrade the server closes the paused old line as soon as the new one attaches:
    // the probe's outcome decides what happens next, not the old line's end.
    if (this.#state === 'upgrading' && this.session.paused && this.#attempts.length > 0) return
    this.#dropLine(info.reason)
    this.#report.lineDropped()
    if (info.code && FATAL_CODES.has(info.code)) return this.close(info.reason, new SwitchboardError(info.code, info.reason))
    if (info.code && SESSION_GONE.has(info.code)) this.#sessionGone(info.code)
    this.#backoff(info.reason, info.code)
  }

  /** The current line (and anything probing beside it) ends: its watch, timers and attempts too. */
  #dropLine(reason: string): void {
    this.#liveness.stop()
    this.#upgrader?.stop()
    for (const attempt of [...this.#attempts]) attempt.cancel()
    this.#transport?.close()
    this.session.detach()
    this.#setTransport(null, reason)
  }

  /**
   * Come back with a new session after `reconnectMs`, or stop when the server said not to.
   * `exactAck`: the server's final ACK came before its CLOSE, so requests it never processed
   * are carried over to the new session instead of failing.
   */
  #sessionEnded(frame: CloseFrame, exactAck: boolean): void {
    const [, code, message, reconnectMs] = frame
    if (reconnectMs === null) return this.close(message, new SwitchboardError(code, message))
    this.#sessionGone(code, exactAck)
    this.#backoff(message, code, reconnectMs)
  }

  #sessionGone(code: ErrorCode, exactAck = false): void {
    this.log('session', `session ${this.#info?.sessionId} is gone: ${code}`)
    const publishKey = this.#info?.publishKey
    this.#info = null
    this.#retry.sessionGone()
    this.#report.sessionGone(code)
    const error = new SwitchboardError('SESSION_LOST', `The session ended (${code}); this request may not have been processed`)
    this.session.carryOver(error, exactAck, publishKey)
  }

  #failed(error: SwitchboardError): void {
    if (FATAL_CODES.has(error.code)) return this.close(error.message, error)
    this.#backoff(error.message, error.code, undefined, error.retryAfterMs)
  }

  /** Waits as the RetrySchedule says (the server's word, else backoff), then tries again. */
  #backoff(reason: string, code?: ErrorCode, delayMs?: number, retryAfterMs?: number): void {
    if (this.#config.reconnect === false)
      return this.close(reason, new SwitchboardError(code && code !== 'TIMEOUT' ? code : 'CONNECT_FAILED', reason))
    const gen = ++this.#generation
    // The timer first: a `state` listener may close() on seeing `backoff`, which clears it.
    const delay = this.#retry.arm(() => this.#retryNow(gen, `retry after ${delay} ms`), delayMs, retryAfterMs)
    this.#transition('backoff', reason, code)
  }

  #retryNow(gen: number, reason: string): void {
    if (gen !== this.#generation || this.#state !== 'backoff') return
    this.#transition('connecting', reason)
    void this.#run(gen)
  }

  #setTransport(transport: ClientTransport | null, reason: string): void {
    const from = this.#transport?.name ?? null
    this.#transport = transport
    const to = transport?.name ?? null
    if (from !== to) this.emit('transport', { from, to, reason })
  }

  #transition(to: ClientState, reason: string, code?: ErrorCode): void {
    const from = this.#state
    assertTransition(from, to)
    this.#state = to
    if (this.#config.logger) this.log('state', `${from} -> ${to}: ${reason}`) // built only for a logger
    this.emit('state', code ? { from, to, reason, code } : { from, to, reason })
  }

  log(kind: LogEvent['kind'], message: string): void {
    this.#config.logger?.({ kind, message, sessionId: this.#info?.sessionId })
  }
}
