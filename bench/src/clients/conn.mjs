// The one shape every client adapter returns, so scenarios never know which library they drive.
//
// conn.echo(msg)       send `msg` (a plain object) to be echoed back to this client
// conn.broadcast(msg)  send `msg` to be delivered to every client (this one included)
// conn.join()          be a broadcast receiver (Switchboard: subscribe; others: connected is enough)
// conn.close()         close without waiting
// conn.onEcho(msg), conn.onBroadcast(msg), conn.onClose(reason), conn.onError(e)   set by the scenario

/** A fresh connection object with no-op handlers. */
export function newConn() {
  return {
    onEcho: (_msg) => {},
    onBroadcast: (_msg) => {},
    onClose: (_reason) => {},
    /** A send the library refused or failed (a rejected call or publish, a socket error). */
    onError: (_error) => {},
    closed: false,
  }
}

/** Rejects after `ms` with a clear message: no open may wait forever. */
export function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
