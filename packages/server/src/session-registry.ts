import {
  decodeClientBatch,
  FrameType,
  type HelloFrame,
  PROTOCOL_VERSION,
  SwitchboardError,
  type ClientDataFrame,
  type ErrorCode,
  utf8Length,
} from '@switchboard/protocol'
import type { EndedSession } from './ended-session.js'
import { tokensEqual, type WhenGone } from './http.js'
import type { ResolvedOptions } from './options.js'
import { PendingNotices } from './pending-notices.js'
import { createRandomId } from './random.js'
import { InFlight, RateLimiter } from './limits.js'
import type { Overlapping } from './overlaps.js'
import { markOversized } from './oversized.js'
import { Session } from './session.js'
import type { SessionConfig } from './session-config.js'
import type { SessionLayer } from './transports/transport.js'
import type { SessionRouter } from './cluster/router.js'
import type { Context } from 'hono'

/** How long a client refused TOO_MANY_SESSIONS is told to wait (it adds jitter of its own). */
const FULL_RETRY_MS = 5_000

/** The registry needs every option but the identity hook. */
export type RegistryOptions = Omit<ResolvedOptions<unknown>, 'authenticate' | 'identityKey'> & {
  identityKey: (identity: never) => string | undefined
}

/**
 * The sessions of one node, and the checks every endpoint shares: find a session by id and
 * token, decode a batch within limits. Transports and routes use this; channels do not.
 */
export class SessionRegistry implements SessionLayer {
  readonly options: RegistryOptions
  /** UTF-8 size of a string: a POST body, a frame's data (Node passes its native Buffer.byteLength). */
  readonly byteLength: (s: string) => number
  readonly sessions = new Map<string, Session>()
  closing = false
  /** Routes requests of sessions other nodes hold; none with an adapter that serves one node. */
  router: SessionRouter | undefined
  /** What a refused negotiate during shutdown tells the client: come back after this long (ms). */
  #shutdownRetryMs = 0
  /**
   * Sessions that ended recently: their CLOSE frame, kept for recoveryMs so a client whose line
   * was down at the moment of the end still learns why (and when to come back) on its next attach.
   */
  #ended = new Map<string, EndedSession>()
  /** Long-polling sessions that drain() ended and whose client has not had the CLOSE yet. */
  #unheard = new PendingNotices()
  #sweep: ReturnType<typeof setInterval>
  /** POSTs and SSE probes of each session in flight (maxRequestsPerSession). */
  #requests: InFlight<Session>
  /** New sessions per client key (negotiateRatePerSecond, negotiateBurst). */
  #negotiates: RateLimiter
  /** Live sessions per identity key, and each identified session's key (anonymous ones are in neither). */
  #perIdentity = new Map<string, number>()
  #identityOf = new Map<Session, string>()
  #sessionConfig: SessionConfig

  constructor(
    options: RegistryOptions,
    dispatch: (session: Session, frame: ClientDataFrame) => void | Promise<void> | Overlapping,
    onEnd: (session: Session, code: ErrorCode) => void,
    byteLength: (s: string) => number = utf8Length,
  ) {
    this.options = options
    this.#negotiates = new RateLimiter(options.negotiateRatePerSecond, options.negotiateBurst)
    this.#requests = new InFlight(options.maxRequestsPerSession)
    this.byteLength = byteLength
    // One config object for every session (not one per session: idle memory counts).
    this.#sessionConfig = {
      batch: { maxFrames: options.maxBatchFrames, maxBytes: options.maxBatchBytes },
      replayBufferFrames: options.replayBufferFrames,
      replayBufferBytes: options.replayBufferBytes,
      maxPendingRequests: options.maxPendingRequests,
      maxPendingBytes: options.maxPendingBytes,
      heartbeatMs: options.heartbeatMs,
      recoveryMs: options.recoveryMs,
      dispatch,
      onEnd: (s, code, final) => {
        this.sessions.delete(s.id)
        this.#forgetIdentity(s)
        this.router?.released(s)
        this.#ended.set(s.id, final)
        if (this.#ended.size > options.maxSessions) this.#ended.delete(this.#ended.keys().next().value!)
        onEnd(s, code)
      },
      logger: options.logger,
      byteLength,
    }
    const every = Math.max(50, Math.min(1_000, options.heartbeatMs / 4, options.recoveryMs / 4))
    this.#sweep = setInterval(() => this.sweep(Date.now()), every)
    // Node's timers are objects, unref'd so the sweep never keeps a process alive; where timers
    // are numbers (Deno, Workers, browsers) there is nothing to unref.
    ;(this.#sweep as { unref?: () => void }).unref?.()
  }

  /** Refuses new sessions from now on; refused clients are told to come back after `retryAfterMs`. */
  shutDown(retryAfterMs: number): void {
    this.closing = true
    this.#shutdownRetryMs = retryAfterMs
  }

  /**
   * Ends every session with SERVER_SHUTDOWN, each told to come back after `reconnectMs()`.
   * Resolves once every long-polling client still polling has had the CLOSE, or after `timeoutMs`.
   * A client whose last poll was answered longer than `timeoutMs` ago is not waited for: it is
   * not polling any more (it closed without a word, or lost its network).
   */
  drain(reconnectMs: () => number, timeoutMs: number): Promise<void> {
    const now = Date.now()
    for (const session of [...this.sessions.values()]) {
      const held = session.transport !== null
      if (session.polling && (held || now - session.detachedAt < timeoutMs)) this.#unheard.add(session.id)
      session.end('SERVER_SHUTDOWN', reconnectMs())
    }
    return this.#unheard.wait(timeoutMs)
  }

  /**
   * A poll of the ended session `sid` is answered with `batch`: when that tells the client of the
   * end, drain() stops waiting for the client once the answer is written.
   */
  endedPollAnswered(sid: string, batch: string, whenAnswered: WhenGone): void {
    if (this.#unheard.has(sid) && this.#ended.get(sid)?.carriedBy(batch)) whenAnswered(() => this.#unheard.heard(sid))
  }

  enterRequest(session: Session): void {
    if (!this.#requests.enter(session))
      throw new SwitchboardError('RATE_LIMITED', `More than ${this.#requests.max} requests of this session at once`, { retryAfterMs: 1_000 })
  }

  leaveRequest(session: Session): void {
    this.#requests.leave(session)
  }

  /** The refusal of a new session while shutting down. */
  shutdownError(): SwitchboardError {
    return new SwitchboardError('SERVER_SHUTDOWN', undefined, { retryAfterMs: this.#shutdownRetryMs })
  }

  /**
   * Counts a negotiate against its client's rate (`key`, none: not counted); throws RATE_LIMITED,
   * with when to retry, past it.
   */
  admit(key: string | undefined, now = Date.now()): void {
    if (key === undefined) return
    const waitMs = this.#negotiates.take(key, now)
    if (waitMs > 0) throw new SwitchboardError('RATE_LIMITED', 'Too many new sessions from this client', { retryAfterMs: waitMs })
  }

  createSession(identity: unknown): Session {
    if (this.closing) throw this.shutdownError()
    if (this.sessions.size >= this.options.maxSessions) throw new SwitchboardError('TOO_MANY_SESSIONS', undefined, { retryAfterMs: FULL_RETRY_MS })
    const key = identity === null ? undefined : (this.options.identityKey as (i: unknown) => string | undefined)(identity)
    const held = key === undefined ? 0 : (this.#perIdentity.get(key) ?? 0)
    if (held >= this.options.maxSessionsPerIdentity)
      throw new SwitchboardError('TOO_MANY_SESSIONS', `This identity holds ${held} sessions, its most`, { retryAfterMs: FULL_RETRY_MS })
    const session = new Session(createRandomId(16), createRandomId(24), identity, this.#sessionConfig)
    this.sessions.set(session.id, session)
    this.#countIdentity(session, key)
    return session
  }

  #countIdentity(session: Session, key: string | undefined): void {
    if (key === undefined) return
    this.#perIdentity.set(key, (this.#perIdentity.get(key) ?? 0) + 1)
    this.#identityOf.set(session, key)
  }

  /** Makes a new session known to the other nodes (a claim in the directory), when there are any. */
  claim(session: Session): Promise<void> | undefined {
    return this.router?.claim(session)
  }

  /** Session `sid` is live here, or ended here recently. */
  holds(sid: string): boolean {
    return this.sessions.has(sid) || this.#ended.has(sid)
  }

  /** Session `sid` is not here, and another node may hold it. */
  elsewhere(sid: string | undefined): sid is string {
    return this.router !== undefined && sid !== undefined && !this.holds(sid)
  }

  forward(c: Context, sid: string, body: string | null): Promise<Response | undefined> {
    return this.router!.forward(c, sid, body)
  }

  bringHere(sid: string, token: string | undefined, probe: boolean): Promise<void> {
    if (token === undefined) return Promise.reject(new SwitchboardError('INVALID_TOKEN'))
    return this.router!.bringHere(sid, token, probe)
  }

  /** A session on its way here from another node: made, not yet served (adopt serves it). */
  arriving(sid: string, token: string): Session {
    return new Session(sid, token, null, this.#sessionConfig)
  }

  /** Serves a session that arrived from another node (its identity counts here, over the limit or not). */
  adopt(session: Session): void {
    this.sessions.set(session.id, session)
    const identity = session.identity
    this.#countIdentity(session, identity === null ? undefined : (this.options.identityKey as (i: unknown) => string | undefined)(identity))
  }

  /** A session that moved to another node: no longer served here, and not ended either. */
  depart(session: Session): void {
    this.sessions.delete(session.id)
    this.#forgetIdentity(session)
  }

  /** The session named by `sid`, proven by `token`; throws UNKNOWN_SESSION or INVALID_TOKEN. */
  authorize(sid: string | undefined, token: string | undefined): Session {
    const session = sid === undefined ? undefined : this.sessions.get(sid)
    if (!session) throw new SwitchboardError('UNKNOWN_SESSION')
    if (!tokensEqual(token, session.token)) throw new SwitchboardError('INVALID_TOKEN')
    return session
  }

  /** What a session that ended recently still owes its client, if `token` proves it; else undefined. */
  endedSession(sid: string | undefined, token: string | undefined): EndedSession | undefined {
    const ended = sid === undefined ? undefined : this.#ended.get(sid)
    return ended && tokensEqual(token, ended.token) ? ended : undefined
  }

  prove(sid: string | undefined, token: string | undefined): Session | EndedSession {
    return this.endedSession(sid, token) ?? this.authorize(sid, token)
  }

  decodeHello(text: string): HelloFrame {
    const hello = decodeClientBatch(text, 1)[0]
    if (!hello || hello[0] !== FrameType.HELLO) throw new SwitchboardError('BAD_REQUEST', 'The first frame must be HELLO')
    if (hello[3] !== PROTOCOL_VERSION) throw new SwitchboardError('PROTOCOL_MISMATCH')
    return hello
  }

  endWith(sid: string | undefined, error: SwitchboardError): void {
    if (sid !== undefined) this.sessions.get(sid)?.end(error.code, null, error.message)
  }

  /**
   * Decodes a client batch within the limits and hands it to the session. `bytes`: the batch's
   * UTF-8 size, which the transport knows without counting (the WebSocket message's length).
   * A batch that breaks the protocol ends the session with the error's code and rethrows.
   * Returns what the answer of a POST waits for (see Session.receive).
   */
  receive(session: Session, text: string, bytes: number, inlineAck: boolean): Promise<void> | undefined {
    try {
      if (bytes > this.options.maxBatchBytes) throw new SwitchboardError('BATCH_TOO_LARGE', `A batch exceeds ${this.options.maxBatchBytes} bytes`)
      const frames = decodeClientBatch(text, this.options.maxBatchFrames)
      // A batch within maxMessageBytes cannot hold an oversized frame: only bigger ones are measured.
      if (bytes > this.options.maxMessageBytes) markOversized(frames, bytes, this.options.maxMessageBytes, this.byteLength)
      return session.receive(frames, inlineAck, bytes)
    } catch (e) {
      const error = e instanceof SwitchboardError ? e : new SwitchboardError('INTERNAL', undefined, { cause: e })
      // A protocol violation is final (the client would send it again); our own fault is not.
      session.end(error.code, error.code === 'INTERNAL' ? 0 : null, error.message)
      throw error
    }
  }

  /** Heartbeats, liveness and expiry for every session, in one timer. */
  #forgetIdentity(session: Session): void {
    const key = this.#identityOf.get(session)
    if (key === undefined) return
    this.#identityOf.delete(session)
    const held = (this.#perIdentity.get(key) ?? 1) - 1
    if (held > 0) this.#perIdentity.set(key, held)
    else this.#perIdentity.delete(key)
  }

  sweep(now: number): void {
    this.#negotiates.prune(now)
    this.router?.renew(now)
    for (const session of this.sessions.values()) {
      // Expired, not refused: a client that comes back later starts a new session at once.
      if (!session.tick(now)) session.end('SESSION_LOST', 0)
    }
    for (const [sid, ended] of this.#ended) {
      if (ended.until > now) break // insertion order is expiry order
      this.#ended.delete(sid)
    }
  }

  close(): void {
    clearInterval(this.#sweep)
  }
}
