/**
 * Sessions that close() ended and whose long-polling client has not had the CLOSE yet. Such a
 * client hears it only with a poll (the one held at the end, or its next one), so the node must
 * keep serving HTTP until then: a client that finds it gone behaves as after a crash, and its
 * requests the session never processed fail instead of moving to its next session.
 */
export class PendingNotices {
  #sids = new Set<string>()
  #done: (() => void) | null = null

  /** Waits for the client of `sid`. */
  add(sid: string): void {
    this.#sids.add(sid)
  }

  has(sid: string): boolean {
    return this.#sids.has(sid)
  }

  /** The client of `sid` has had the CLOSE (or is gone). */
  heard(sid: string): void {
    if (this.#sids.delete(sid) && this.#sids.size === 0) this.#done?.()
  }

  /** Resolves once every client has heard, or after `timeoutMs`; then it stops waiting for any. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#sids.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#sids.clear()
        this.#done = null
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.#done = done
    })
  }
}
