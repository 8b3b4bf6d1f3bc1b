/**
 * Declares a line dead when nothing (not even a heartbeat) arrived within `deadlineMs`.
 * One timer, re-armed lazily: `touch()` on every batch only records the time.
 */
export class Liveness {
  #last = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  touch(now = Date.now()): void {
    this.#last = now
  }

  watch(deadlineMs: number, onDead: (silentMs: number) => void): void {
    this.stop()
    this.#last = Date.now()
    const check = () => {
      const silent = Date.now() - this.#last
      if (silent >= deadlineMs) onDead(silent)
      else this.#timer = setTimeout(check, deadlineMs - silent)
    }
    this.#timer = setTimeout(check, deadlineMs)
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
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
