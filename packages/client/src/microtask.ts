const resolved = Promise.resolve()

/**
 * Runs `fn` in a microtask, as queueMicrotask does, for hot paths: Node's queueMicrotask creates
 * an async resource and binds a function per call, which cost about a microsecond per flush in
 * the round trip benchmark; a resolved promise's `then` is one reaction. Should `fn` throw, the
 * error surfaces as an unhandled rejection instead of an uncaught exception.
 */
export function microtask(fn: () => void): void {
  void resolved.then(fn)
}
