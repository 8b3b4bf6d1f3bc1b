/**
 * Declares a line dead when nothing (not even a heartbeat) arrived within `deadlineMs`.
 * One timer, re-armed lazily: `touch()` on every batch only records the time.
 */
export class Liveness {
  #last = 0
  #deadlineMs = 0
  readonly #onDead: (silentMs: number) => void
  #timer: ReturnType<typeof setTimeout> | undefined

  /** `onDead`: one function for the owner's life, not one a watch. */
  constructor(onDead: (silentMs: number) => void) {
    this.#onDead = onDead
  }

  touch(now = Date.now()): void {
    this.#last = now
  }

  /** Calls `onDead` once the line has been silent for `deadlineMs`; replaces an earlier watch. */
  watch(deadlineMs: number): void {
    this.stop()
    this.#last = Date.now()
    this.#deadlineMs = deadlineMs
    // The timer's argument, not a closure: a process of 10,000 clients holds 10,000 watches.
    this.#timer = setTimeout(Liveness.#check, deadlineMs, this)
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  static #check(live: Liveness): void {
    const silent = Date.now() - live.#last
    if (silent < live.#deadlineMs) live.#timer = setTimeout(Liveness.#check, live.#deadlineMs - silent, live)
    else live.#onDead(silent)
  }
}

/**
 * How long a line may stay silent before it is dead: a long poll, the server's poll timeout and a
 * heartbeat (it holds the poll that long when it has nothing to send); a stream the server pings,
 * two heartbeats.
 */
export function lineDeadlineMs(polled: boolean, timing: { heartbeatMs: number; pollTimeoutMs: number }): number {
  return polled ? timing.pollTimeoutMs + timing.heartbeatMs : timing.heartbeatMs * 2
}
