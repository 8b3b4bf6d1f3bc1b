import { once } from 'node:events'
import net from 'node:net'

/** A TCP echo server on 127.0.0.1, port 0, for the proxy tests. */
export interface EchoServer {
  port: number
  /** Server-side sockets, in accept order. */
  accepted: net.Socket[]
  /** Error codes seen on server-side sockets. */
  errorCodes: (string | undefined)[]
  close(): Promise<void>
}

/** Greets first (`hi:`), then echoes every byte, so bytes that start on the server side are covered too. */
export async function startEchoServer(): Promise<EchoServer> {
  const accepted: net.Socket[] = []
  const errorCodes: (string | undefined)[] = []
  const server = net.createServer((socket) => {
    accepted.push(socket)
    socket.on('error', (err: NodeJS.ErrnoException) => errorCodes.push(err.code)) // resets are the point here
    socket.write('hi:')
    socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    accepted,
    errorCodes,
    close: () => {
      for (const socket of accepted) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
