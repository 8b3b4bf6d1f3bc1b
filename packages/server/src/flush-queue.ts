/** What the queue flushes: a session with frames to write. */
export interface Flushable {
  flush(): void
  /** Its flush threw: a fault of ours, answered by ending that target alone. */
  flushFailed(error: unknown): void
}

/** Sessions with frames to write, flushed together once the current callback is done. */
let dirty: Flushable[] = []
const resolved = Promise.resolve()
let flushScheduled = false

function flushDirty(): void {
  flushScheduled = false
  const list = dirty
  dirty = []
  for (let i = 0; i < list.length; i++) {
    // One target's fault must not leave the others unflushed, nor reject this continuation
    // (an unhandled rejection would end the process).
    try {
      list[i]!.flush()
    } catch (e) {
      list[i]!.flushFailed(e)
    }
  }
}

/**
 * Flushes `target` in one microtask with every other target queued in this callback, so the
 * frames a callback produces leave in one batch. The caller queues a target once per flush.
 */
export function queueFlush(target: Flushable): void {
  dirty.push(target)
  if (!flushScheduled) {
    flushScheduled = true
    void resolved.then(flushDirty)
  }
}
