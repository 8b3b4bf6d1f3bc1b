import { backoffDelay, type BackoffOptions } from './backoff.js'
import { browserOffline } from './hints.js'

/**
 * While the browser says it is offline, retries wait for its `online` event (which ends the wait
 * at once) instead of failing every few seconds, each failure a console error in the page. The
 * hint can be wrong, so one retry still goes out this often.
 */
const OFFLINE_RETRY_MS = 60_000

/**
 * When the connection tries again after a failure: the server's word first (a CLOSE's spread
 * reconnectMs, or a refusal's retryAfterMs, which every client refused at once got alike, so up
 * to as much again is added at random), else exponential backoff with full jitter, and no sooner
 * than a minute while the browser is offline. One timer.
 */
export class RetrySchedule {
  #options: BackoffOptions
  #retries = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Until when (Date.now() ms) the server asked this client to stay away; 0 when it did not. */
  #notBefore = 0

  constructor(options: BackoffOptions) {
    this.#options = options
  }

  /**
   * Arms the retry: `fire` runs after `delayMs` when the server set it for this session, else
   * after the backoff's delay, but never sooner than `retryAfterMs`. Returns the delay.
   */
  arm(fire: () => void, delayMs?: number, retryAfterMs?: number): number {
    this.cancel()
    let delay = delayMs ?? backoffDelay(this.#retries++, this.#options)
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

  /** A line was adopted: the next failure starts from the first backoff bound. */
  reset(): void {
    this.#retries = 0
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
