import { backoffDelay, type BackoffOptions } from './backoff.js'
import { browserOffline } from './hints.js'

/**
 * While the browser says it is offline, retries wait for its `online` event (which ends the wait
 * at once) instead of failing every few seconds, each failure a console error in the page. The
 * hint can be wrong, so one retry still goes out this often.
 */
const OFFLINE_RETRY_MS = 60_000

/**
 * A line that carried the session this long was stable: its loss starts a new outage, whose first
 * retry is quick again. One lost sooner continues the outage before it (the waits keep growing),
 * so a server that welcomes and then drops every line is not reconnected to at the quick rate.
 */
export const STABLE_LINE_MS = 2_000

/**
 * After a line was lost, the rounds of retries try only the transport that carried it (every
 * transport goes to the same host, and a short outage refuses them all), except every third
 * round, which tries the others after it, in case the network changed under the session (a
 * proxy that now refuses WebSocket).
 */
const WHOLE_ROUND_EVERY = 3

/**
 * While the server still holds the session of a lost line (its recoveryMs, counted here from when
 * the client saw the loss, about when the server's count starts), our own waits are at most this
 * share of that window, drawn in its upper half: a network back inside the window is found within
 * a fifth of it and the session resumes, where a wait grown to maxMs could have run past the
 * window's end and lost it. Past the window the backoff goes on as it would have (a new session
 * is all that is left to find).
 */
const WINDOW_SHARE = 5

/**
 * When the connection tries again after a failure: the server's word first (a CLOSE's spread
 * reconnectMs, or a refusal's retryAfterMs, which every client refused at once got alike, so up
 * to as much again is added at random), else backoff (see backoffDelay: a quick first retry, then
 * decorrelated jitter up to maxMs), and no sooner than a minute while the browser is offline.
 * Also says which transports a round tries. One timer.
 */
export class RetrySchedule {
  #options: BackoffOptions
  /** Our own wait before the last retry of this outage; undefined until its first retry. */
  #lastMs: number | undefined
  /** Retries of this outage (since the last stable line). */
  #retries = 0
  /** A line has carried the session: rounds can start with its transport. */
  #hadLine = false
  /** When (Date.now() ms) the line that carries the session now was adopted; 0 while none does. */
  #lineSince = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Until when (Date.now() ms) the server asked this client to stay away; 0 when it did not. */
  #notBefore = 0
  /** The recoveryMs of the session the adopted line carries; 0 once that session is known gone. */
  #recoveryMs = 0
  /** Until when (Date.now() ms) the server holds the session after its line's last loss. */
  #resumableUntil = 0

  constructor(options: BackoffOptions) {
    this.#options = options
  }

  /**
   * Arms the retry: `fire` runs after `delayMs` when the server set it for this session, else
   * after the backoff's delay, but never sooner than `retryAfterMs`. Returns the delay.
   */
  arm(fire: () => void, delayMs?: number, retryAfterMs?: number): number {
    this.cancel()
    this.#lineEnded()
    let delay = delayMs ?? this.#backoff()
    if (retryAfterMs !== undefined) delay = Math.max(delay, retryAfterMs + Math.floor(Math.random() * retryAfterMs))
    this.#notBefore = delayMs !== undefined || retryAfterMs !== undefined ? Date.now() + delay : 0
    if (browserOffline()) delay = Math.max(delay, OFFLINE_RETRY_MS)
    this.#timer = setTimeout(fire, delay)
    return delay
  }

  /**
   * The network or the page is back: our own backoff (or the offline pause) ends now, a wait the
   * server asked for does not. Returns 0 when `fire` may run now, else re-arms it for the rest.
   */
  wake(fire: () => void): number {
    this.cancel()
    const wait = this.#notBefore - Date.now()
    if (wait > 0) this.#timer = setTimeout(fire, wait)
    return Math.max(0, wait)
  }

  /**
   * A line of a session the server holds `recoveryMs` after a loss was adopted: once it has held
   * for STABLE_LINE_MS, its loss starts from the first retry.
   */
  adopted(recoveryMs: number): void {
    this.#hadLine = true
    this.#recoveryMs = recoveryMs
    if (this.#lineSince === 0) this.#lineSince = Date.now()
  }

  /** The session is gone (ended, or the server no longer knows it): no window to retry within. */
  sessionGone(): void {
    this.#recoveryMs = 0
    this.#resumableUntil = 0
  }

  /**
   * Whether the next round tries every transport the server offers, in order; else only the one
   * that last carried the session. Every round does until a line has carried it.
   */
  get wholeRound(): boolean {
    return !this.#hadLine || this.#retries % WHOLE_ROUND_EVERY === 0
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** The next wait of the backoff, within WINDOW_SHARE of the session's window while it lasts. */
  #backoff(): number {
    this.#retries++
    this.#lastMs = backoffDelay(this.#lastMs, this.#options)
    const cap = this.#recoveryMs / WINDOW_SHARE
    if (this.#lastMs <= cap || Date.now() >= this.#resumableUntil) return this.#lastMs
    return Math.floor(cap / 2 + (Math.random() * cap) / 2)
  }

  /** The line (if one carried the session) is gone: a stable one ends the outage before it. */
  #lineEnded(): void {
    if (this.#lineSince === 0) return
    const now = Date.now()
    if (now - this.#lineSince >= STABLE_LINE_MS) {
      this.#lastMs = undefined
      this.#retries = 0
    }
    this.#resumableUntil = now + this.#recoveryMs
    this.#lineSince = 0
  }
}
