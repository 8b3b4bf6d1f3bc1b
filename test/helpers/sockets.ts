import type net from 'node:net'

/** Listens on 127.0.0.1, port 0, and resolves with the port the system picked. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address after listening on 127.0.0.1')
  return address.port
}

/**
 * Stops `server` listening and resolves once it and every one of `sockets` (already reset or
 * destroyed by the caller) have closed.
 */
export async function closeServer(server: net.Server, sockets: readonly net.Socket[]): Promise<void> {
  await Promise.all([
    new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
    // Not events.once(): that rejects on 'error', and a reset socket emits 'error' before 'close'.
    ...sockets.map((socket) => new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())))),
  ])
}
