import type { TabLocks } from './environment.js'

/**
 * Asks for the exclusive lock `name` and holds it from its grant until the returned function is
 * called (which also withdraws a request not granted yet). `onGranted` runs at the grant, unless
 * the lock was given up first. The browser releases every lock of a tab that closes or crashes:
 * the next request in line is granted then, which is how a follower learns it now leads.
 */
export function holdLock(locks: TabLocks, name: string, onGranted: () => void): () => void {
  const abort = new AbortController()
  let given = false
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  locks
    .request(name, { signal: abort.signal }, () => {
      if (given) return
      onGranted()
      return held
    })
    .catch(() => {}) // withdrawn (AbortError)
  return () => {
    given = true
    abort.abort()
    release()
  }
}

/**
 * Calls `onFree` once the lock `name` is free (at once if nobody holds it), and lets it go again;
 * the returned function stops watching. A tab holds a lock named for it while it lives, so this
 * tells another tab when it closed or crashed, with no heartbeat.
 */
export function watchLock(locks: TabLocks, name: string, onFree: () => void): () => void {
  const abort = new AbortController()
  locks
    .request(name, { signal: abort.signal }, () => {
      if (!abort.signal.aborted) onFree()
    })
    .catch(() => {}) // stopped (AbortError)
  return () => abort.abort()
}
