/** True when the browser says it has no network (`navigator.onLine === false`); never outside browsers. */
export function browserOffline(): boolean {
  return (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false
}

/** True where there are browser hints to watch (a window with events): checked before building handlers for them. */
export function hintsAvailable(): boolean {
  return typeof (globalThis as { window?: Window }).window?.addEventListener === 'function'
}

/** What `watchHints` returns where there is nothing to watch. */
export function ignoreHints(): void {}

/**
 * Browser hints: back online, or the page visible again (`onWake`), ends a backoff wait at once,
 * since phones and laptops often lose the network while asleep; going offline (`onOffline`)
 * drops a line that would otherwise only be found dead at the heartbeat deadline.
 * Returns a function that stops listening. Outside browsers it does nothing.
 */
export function watchHints(handlers: { onWake(): void; onOffline(): void }): () => void {
  if (!hintsAvailable()) return ignoreHints
  const win = (globalThis as { window: Window }).window
  const doc = (globalThis as { document?: Document }).document
  const wake = () => {
    if (doc?.visibilityState !== 'hidden') handlers.onWake()
  }
  const offline = () => handlers.onOffline()
  win.addEventListener('online', wake)
  win.addEventListener('offline', offline)
  doc?.addEventListener('visibilitychange', wake)
  return () => {
    win.removeEventListener('online', wake)
    win.removeEventListener('offline', offline)
    doc?.removeEventListener('visibilitychange', wake)
  }
}
