import {
  FrameType,
  SwitchboardError,
  type CloseFrame,
  type ErrorCode,
  type ServerDataFrame,
  type ServerFrame,
  type TransportName,
  type WelcomeFrame,
} from '@switchboard/protocol'
import { attemptTransport, type Attempt } from './attempt.js'
import { TRANSPORT_MODULES } from './transports/index.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { Emitter } from './emitter.js'
import type { HttpClient } from './http/http.js'
import type { ConnectionEvents } from './events.js'
import { browserOffline, watchHints } from './hints.js'
import type { LogEvent } from './log.js'
import { Liveness } from './liveness.js'
import { FATAL_CODES, negotiate, type SessionInfo } from './negotiate.js'
import type { TransportMemory } from './remember.js'
import { ClientSession } from './session.js'
import { assertTransition, type ClientState } from './state.js'
import { nextUpgradeDelay, upgradeCandidates, type UpgradeOptions } from './upgrade.js'
import type { ClientTransport, TransportCloseInfo, WebSocketConstructor } from './transports/transport.js'

export type { ConnectionEvents, SessionChange, TransportChange } from './events.js'

export interface ConnectionConfig {
  baseUrl: string
  transports: readonly TransportName[]
  http: HttpClient
  WebSocket: WebSocketConstructor | undefined
  headers: () => Record<string, string> | Promise<Record<string, string>>
  attemptTimeoutMs: number
  requestTimeoutMs: number
  reconnect: BackoffOptions | false
  maxOutboxFrames: number
  maxOutboxBytes: number
  maxQueuedRequests?: number
  maxQueuedBytes?: number
  /** Background probing of a better transport while on a worse one, or false. */
  upgrade: UpgradeOptions | false
  /** The transport that last worked per server, or null to always start at the top. */
  memory: TransportMemory | null
  onData(frame: ServerDataFrame): void
  logger: ((event: LogEvent) => void) | undefined
}

/**
 * While the browser says it is offline, retries wait for its `online` event (which ends the wait
 * at once) instead of failing every few seconds, each failure a console error in the page. The
 * hint can be wrong, so one retry still goes out this often.
 */
const OFFLINE_RETRY_MS = 60_000

/** Codes that mean the server no longer holds the session. */
const SESSION_GONE = new Set<ErrorCode>(['UNKNOWN_SESSION', 'INVALID_TOKEN', 'SESSION_LOST', 'SLOW_CONSUMER', 'SERVER_SHUTDOWN'])

/**
 * Finds a line and keeps one: negotiates a session, tries transports in order (each with a
 * timeout), reattaches after a drop with backoff, renegotiates when the session is gone.
 * State changes go through one `transition()`.
 */
export class Connection extends Emitter<ConnectionEvents> {
  readonly session: ClientSession
  #config: ConnectionConfig
  #state: ClientState = 'idle'
  #info: SessionInfo | null = null
  #transport: ClientTransport | null = null
  /** Cancels every attempt in flight (their promises resolve as failed). */
  #attempts = new Set<() => void>()
  #lastWorked: TransportName | null = null
  /** Bumped on every (re)start and on close: async steps of an older run stop when it changed. */
  #generation = 0
  #retries = 0
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  /** Until when (Date.now() ms) the server asked this client to stay away; 0 when it did not. */
  #notBefore = 0
  #liveness = new Liveness()
  #upgradeTimer: ReturnType<typeof setTimeout> | undefined
  #upgradeFailures = 0
  /** Why the previous session ended, reported with the next open. */
  #lostReason: ErrorCode | null = null
  #dropped = false
  #stopHints: () => void = () => {}

  constructor(config: ConnectionConfig) {
    super()
    this.#config = config
    this.#lastWorked = config.memory?.get(config.baseUrl) ?? null
    this.session = new ClientSession({
      maxOutboxFrames: config.maxOutboxFrames,
      maxOutboxBytes: config.maxOutboxBytes,
      maxQueuedFrames: config.maxQueuedRequests,
      maxQueuedChars: config.maxQueuedBytes,
      onData: config.onData,
      // Too much arrived ahead of a gap: drop the line and reattach, so the server resends
      // everything after our ack (the gap first) instead of waiting on a frame that may never come.
      onGap: (seq, expected) => {
        const reason = `dropped server frame ${seq}: too much held ahead of the gap at ${expected}`
        this.#log('session', reason)
        if (this.#transport) this.#lost(this.#transport, { reason })
      },
    })
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
    this.#stopHints = watchHints({ onWake: this.#onWake, onOffline: this.#onOffline })
    void this.#run(++this.#generation)
  }

  #onWake = (): void => {
    if (this.#state !== 'backoff') return
    clearTimeout(this.#retryTimer)
    // A wait the server asked for still holds; only our own backoff (or the offline pause) ends.
    const wait = this.#notBefore - Date.now()
    if (wait > 0) return this.#retryIn(wait, this.#generation)
    this.#transition('connecting', 'network or page is back')
    void this.#run(this.#generation)
  }

  #onOffline = (): void => {
    const t = this.#transport
    if (t) this.#lost(t, { reason: 'the browser went offline' })
  }

  close(reason = 'close() called', error?: SwitchboardError): void {
    if (this.#state === 'closed') return
    this.#stopHints()
    this.#generation++
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#upgradeTimer)
    this.#liveness.stop()
    this.#cancelAttempts()
    this.#transport?.close()
    this.#setTransport(null, reason)
    this.session.reset(new SwitchboardError('CLOSED', error ? `The client closed: ${error.message}` : undefined), true)
    // The error first, so a `state` listener seeing `closed` can already know why.
    if (error) this.emit('error', error)
    this.#transition('closed', reason, error?.code)
  }

  async #run(gen: number): Promise<void> {
    let renegotiations = 0
    for (;;) {
      if (!this.#info) {
        try {
          const c = this.#config
          this.#info = await negotiate(c.baseUrl, {
            http: c.http,
            headers: await c.headers(),
            transports: c.transports,
            timeoutMs: Math.max(c.attemptTimeoutMs, 5_000),
          })
        } catch (e) {
          if (gen !== this.#generation) return
          return this.#failed(e instanceof SwitchboardError ? e : new SwitchboardError('CONNECT_FAILED', String(e)))
        }
        if (gen !== this.#generation) return
        this.session.setLimits(this.#info)
      }
      const info = this.#info
      let last: Attempt = { ok: false, reason: 'no transport offered' }
      for (const name of this.#order(info.transports)) {
        last = await this.#attempt(name, info, gen)
        if (gen !== this.#generation) return
        if (last.ok) return
        if (last.close) return this.#sessionEnded(last.close, false)
        this.#log('transport', `${name} failed: ${last.reason}`)
        if (last.code && (FATAL_CODES.has(last.code) || SESSION_GONE.has(last.code))) break
        // An HTTP request could not reach the server: the next transport goes to the same host.
        if (last.code === 'CONNECT_FAILED' && TRANSPORT_MODULES[name].traits.http) break
      }
      const code = last.ok ? undefined : last.code
      if (code && SESSION_GONE.has(code) && renegotiations++ < 2) {
        this.#sessionGone(code)
        continue
      }
      return this.#failed(new SwitchboardError(code && FATAL_CODES.has(code) ? code : 'CONNECT_FAILED', last.ok ? undefined : last.reason))
    }
  }

  /** Preference order, starting with the transport that worked last. */
  #order(offered: readonly TransportName[]): TransportName[] {
    const list = this.#config.transports.filter((t) => offered.includes(t))
    const i = this.#lastWorked ? list.indexOf(this.#lastWorked) : -1
    return i <= 0 ? list : [...list.slice(i), ...list.slice(0, i)]
  }

  /** Tries one transport (see attemptTransport); `probe` proves it before pausing the current one. */
  #attempt(name: TransportName, info: SessionInfo, gen: number, probe = false): Promise<Attempt> {
    const c = this.#config
    const ctx = {
      baseUrl: c.baseUrl,
      sessionId: info.sessionId,
      token: info.resumeToken,
      ack: () => this.session.received,
      http: c.http,
      WebSocket: c.WebSocket,
      pollTimeoutMs: info.pollTimeoutMs,
      requestTimeoutMs: c.requestTimeoutMs,
      probe,
    }
    const { result, cancel } = attemptTransport(name, ctx, c.attemptTimeoutMs, {
      isLive: () => gen === this.#generation,
      adopt: (t, frames) => this.#adopt(t, frames, probe ? 'upgrade' : 'welcomed'),
      receive: (t, frames, from) => this.#receive(t, frames, from),
      lost: (t, closeInfo) => this.#lost(t, closeInfo),
      probed: (t) => {
        // The new line carries frames both ways: pause the old one (it still receives), attach the new.
        this.session.detach()
        this.#transport?.pause()
        t.attach()
      },
      drain: (t) => {
        if (this.#transport === t) this.session.drain()
      },
      log: (message) => this.#log('transport', message),
    })
    this.#attempts.add(cancel)
    return result.finally(() => this.#attempts.delete(cancel))
  }

  /** Frames on a welcomed line: only the line that carries the session counts. */
  #receive(transport: ClientTransport, frames: ServerFrame[], from: number): void {
    if (transport !== this.#transport) return
    this.#liveness.touch()
    const close = frames.findIndex((f) => f[0] === FrameType.CLOSE)
    if (close === -1) return this.session.receive(frames, from)
    this.session.receive(frames.slice(0, close), from)
    this.#serverClosed(transport, frames[close] as CloseFrame)
  }

  #cancelAttempts(): void {
    for (const cancel of [...this.#attempts]) cancel()
  }

  /** While on a worse transport, probe the better ones in the background, backing off on failure. */
  #scheduleUpgrade(): void {
    clearTimeout(this.#upgradeTimer)
    const c = this.#config
    if (!c.upgrade || this.#upgradeCandidates().length === 0) return
    this.#upgradeTimer = setTimeout(() => void this.#upgrade(), nextUpgradeDelay(c.upgrade, this.#upgradeFailures))
  }

  #upgradeCandidates(): TransportName[] {
    const current = this.#transport?.name
    if (!current || !this.#info) return []
    return upgradeCandidates(current, this.#config.transports, this.#info.transports, !!this.#config.WebSocket)
  }

  /** One round: probe each better transport, best first, until one takes over. */
  async #upgrade(): Promise<void> {
    const old = this.#transport
    const info = this.#info
    if (this.#state !== 'open' || !old || !info) return
    const gen = this.#generation
    let reason = ''
    for (const target of this.#upgradeCandidates()) {
      this.#transition('upgrading', `probing ${target}`)
      const result = await this.#attempt(target, info, gen, true)
      if (gen !== this.#generation || result.ok || this.#transport !== old) return
      reason = `upgrade to ${target} failed: ${result.reason}`
      this.#log('transport', reason)
      if (this.session.paused) {
        // The old line was paused and the server may already have moved: reattach from scratch (lossless).
        return this.#lost(old, { reason: `${reason} after the switch began` })
      }
      this.#transition('open', reason)
    }
    this.#upgradeFailures++
    this.#scheduleUpgrade()
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
    this.#retries = 0
    if (reason === 'upgrade') this.#upgradeFailures = 0
    const wasDropped = this.#dropped
    this.#dropped = false
    this.#setTransport(transport, reason)
    this.session.attach(transport, serverAck)
    this.#transition('open', `${transport.name} attached`)
    this.#watchLiveness(transport)
    this.#scheduleUpgrade()
    const info = this.#info!
    this.#receive(transport, frames, 1)
    if (this.#transport !== transport) return // ended by its final words
    if (this.#lostReason) {
      const reason = this.#lostReason
      this.#lostReason = null
      this.emit('session', { sessionId: info.sessionId, resumed: false, reason })
    } else if (wasDropped) this.emit('session', { sessionId: info.sessionId, resumed: true })
  }

  /** The live transport dropped: reattach the same session after a backoff. */
  #lost(transport: ClientTransport, info: TransportCloseInfo): void {
    if (transport !== this.#transport) return
    // Mid-upgrade the server closes the paused old line as soon as the new one attaches:
    // the probe's outcome decides what happens next, not the old line's end.
    if (this.#state === 'upgrading' && this.session.paused && this.#attempts.size > 0) return
    transport.close()
    this.#liveness.stop()
    clearTimeout(this.#upgradeTimer)
    this.#cancelAttempts()
    this.session.detach()
    this.#setTransport(null, info.reason)
    this.#dropped = true
    if (info.code && FATAL_CODES.has(info.code)) return this.close(info.reason, new SwitchboardError(info.code, info.reason))
    if (info.code && SESSION_GONE.has(info.code)) this.#sessionGone(info.code)
    this.#backoff(info.reason, info.code)
  }

  /** The server ended the session (CLOSE frame) on the live transport. */
  #serverClosed(transport: ClientTransport, frame: CloseFrame): void {
    this.#liveness.stop()
    clearTimeout(this.#upgradeTimer)
    this.#cancelAttempts()
    transport.close()
    this.session.detach()
    this.#setTransport(null, frame[2])
    this.#sessionEnded(frame, true)
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
    this.#log('session', `session ${this.#info?.sessionId} is gone: ${code}`)
    this.#info = null
    this.#lostReason = code
    const error = new SwitchboardError('SESSION_LOST', `The session ended (${code}); this request may not have been processed`)
    this.session.carryOver(error, exactAck)
  }

  #failed(error: SwitchboardError): void {
    if (FATAL_CODES.has(error.code)) return this.close(error.message, error)
    this.#backoff(error.message, error.code, undefined, error.retryAfterMs)
  }

  /**
   * Waits, then tries again: `delayMs` when the server set it for this session (its CLOSE, already
   * spread by the server), else the backoff's delay, but never sooner than a `retryAfterMs` the
   * server answered, plus up to as much again at random (every client refused at once got the
   * same value).
   */
  #backoff(reason: string, code?: ErrorCode, delayMs?: number, retryAfterMs?: number): void {
    const reconnect = this.#config.reconnect
    if (reconnect === false) return this.close(reason, new SwitchboardError(code && code !== 'TIMEOUT' ? code : 'CONNECT_FAILED', reason))
    let delay = delayMs ?? backoffDelay(this.#retries++, reconnect)
    if (retryAfterMs !== undefined) delay = Math.max(delay, retryAfterMs + Math.floor(Math.random() * retryAfterMs))
    this.#notBefore = delayMs !== undefined || retryAfterMs !== undefined ? Date.now() + delay : 0
    if (browserOffline()) delay = Math.max(delay, OFFLINE_RETRY_MS)
    // The timer first: a `state` listener may close() on seeing `backoff`, which clears it.
    this.#retryIn(delay, ++this.#generation)
    this.#transition('backoff', reason, code)
  }

  #retryIn(delay: number, gen: number): void {
    this.#retryTimer = setTimeout(() => {
      if (gen !== this.#generation) return
      this.#transition('connecting', `retry after ${delay} ms`)
      void this.#run(gen)
    }, delay)
  }

  /** Declares the line dead when nothing (not even a heartbeat) arrived in time. */
  #watchLiveness(transport: ClientTransport): void {
    const info = this.#info!
    const deadline = transport.traits.polled ? info.pollTimeoutMs + info.heartbeatMs : info.heartbeatMs * 2
    this.#liveness.watch(deadline, (silent) => {
      if (this.#transport === transport) this.#lost(transport, { reason: `nothing received for ${silent} ms`, code: 'TIMEOUT' })
    })
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
    this.#log('state', `${from} -> ${to}: ${reason}`)
    this.emit('state', code ? { from, to, reason, code } : { from, to, reason })
  }

  #log(kind: LogEvent['kind'], message: string): void {
    this.#config.logger?.({ kind, message, sessionId: this.#info?.sessionId })
  }
}
