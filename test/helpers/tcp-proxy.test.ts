import { once } from 'node:events'
import net from 'node:net'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'
import { startEchoServer, type EchoServer } from './echo-server.js'

interface Client {
  socket: net.Socket
  errors: NodeJS.ErrnoException[]
  /** Resolves with everything received once `bytes` bytes have arrived. */
  read(bytes: number): Promise<Buffer>
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1')
  const errors: NodeJS.ErrnoException[] = []
  socket.on('error', (err) => errors.push(err))
  let received = Buffer.alloc(0)
  let waiter: { bytes: number; resolve: (b: Buffer) => void } | undefined
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk])
    if (waiter && received.length >= waiter.bytes) {
      waiter.resolve(received)
      waiter = undefined
    }
  })
  await once(socket, 'connect')
  return {
    socket,
    errors,
    read: (bytes) =>
      new Promise((resolve) => {
        if (received.length >= bytes) resolve(received)
        else waiter = { bytes, resolve }
      }),
  }
}

// Not events.once(): that rejects on 'error', and a reset socket emits 'error' before 'close'.
const closed = (socket: net.Socket) => new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())))

const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length

describe('startTcpProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn()
  })

  async function setup(): Promise<{ echo: EchoServer; proxy: TcpProxy }> {
    const echo = await startEchoServer()
    cleanups.push(() => echo.close())
    const proxy = await startTcpProxy({ targetPort: echo.port })
    cleanups.push(() => proxy.close())
    return { echo, proxy }
  }

  test('listens on 127.0.0.1 with an ephemeral port and exposes its url', async () => {
    const { proxy } = await setup()
    expect(proxy.port).toBeGreaterThan(0)
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`)
    expect(proxy.openConnections).toBe(0)
    expect(proxy.totalConnections).toBe(0)
  })

  test('passes bytes both ways, including a payload larger than the socket buffers', async () => {
    const { proxy } = await setup()
    const client = await connect(proxy.port)
    cleanups.push(() => void client.socket.destroy())

    expect((await client.read(3)).toString()).toBe('hi:')
    const payload = Buffer.alloc(4 * 1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251
    client.socket.write(payload)
    const got = await client.read(3 + payload.length)
    expect(got.subarray(3).equals(payload)).toBe(true)
  })

  test('cutAll resets both the client and the upstream side of every pair', async () => {
    const { echo, proxy } = await setup()
    const a = await connect(proxy.port)
    const b = await connect(proxy.port)
    await Promise.all([a.read(3), b.read(3)])
    expect(echo.accepted).toHaveLength(2)
    expect(proxy.openConnections).toBe(2)

    const allClosed = Promise.all([a, b].map((c) => closed(c.socket)).concat(echo.accepted.map(closed)))
    expect(proxy.cutAll()).toBe(2)
    expect(proxy.openConnections).toBe(0)
    await allClosed

    // A real reset, not a polite FIN.
    expect(a.errors.map((e) => e.code)).toContain('ECONNRESET')
    expect(b.errors.map((e) => e.code)).toContain('ECONNRESET')
    expect(echo.errorCodes).toEqual(['ECONNRESET', 'ECONNRESET'])
    expect(proxy.cutAll()).toBe(0)
  })

  test('keeps accepting connections after cutAll', async () => {
    const { proxy } = await setup()
    const first = await connect(proxy.port)
    await first.read(3)
    const firstClosed = closed(first.socket)
    expect(proxy.cutAll()).toBe(1)
    await firstClosed

    const second = await connect(proxy.port)
    cleanups.push(() => void second.socket.destroy())
    second.socket.write('again')
    expect((await second.read(8)).toString()).toBe('hi:again')
    expect(proxy.openConnections).toBe(1)
    expect(proxy.totalConnections).toBe(2)
  })

  test('setDown(true) cuts open pairs and resets new connections until setDown(false)', async () => {
    const { proxy } = await setup()
    const first = await connect(proxy.port)
    await first.read(3)
    const firstClosed = closed(first.socket)
    proxy.setDown(true)
    await firstClosed
    expect(first.errors.map((e) => e.code)).toContain('ECONNRESET')

    const refused = net.connect(proxy.port, '127.0.0.1')
    const errors: NodeJS.ErrnoException[] = []
    refused.on('error', (err) => errors.push(err))
    await closed(refused)
    expect(errors.map((e) => e.code)).toContain('ECONNRESET')

    proxy.setDown(false)
    const back = await connect(proxy.port)
    cleanups.push(() => void back.socket.destroy())
    expect((await back.read(3)).toString()).toBe('hi:')
  })

  test('counts open and total connections as clients come and go', async () => {
    const { echo, proxy } = await setup()
    const a = await connect(proxy.port)
    await a.read(3)
    const b = await connect(proxy.port)
    await b.read(3)
    expect(proxy.openConnections).toBe(2)
    expect(proxy.totalConnections).toBe(2)

    // A clean end from the client travels through the proxy as a FIN, and the pair goes away.
    const upstreamClosed = closed(echo.accepted[0]!)
    a.socket.end()
    await Promise.all([closed(a.socket), upstreamClosed])
    expect(a.errors).toEqual([])
    await vi.waitFor(() => expect(proxy.openConnections).toBe(1))
    expect(proxy.totalConnections).toBe(2)

    const bClosed = closed(b.socket)
    b.socket.destroy()
    await bClosed
    await vi.waitFor(() => expect(proxy.openConnections).toBe(0))
    expect(proxy.totalConnections).toBe(2)
  })

  test('resets the client when the upstream refuses the connection', async () => {
    const echo = await startEchoServer()
    const deadPort = echo.port
    await echo.close()
    const proxy = await startTcpProxy({ targetPort: deadPort })
    cleanups.push(() => proxy.close())

    const client = await connect(proxy.port)
    await closed(client.socket)
    expect(client.errors.map((e) => e.code)).toContain('ECONNRESET')
    await vi.waitFor(() => expect(proxy.openConnections).toBe(0))
    expect(proxy.totalConnections).toBe(1)
  })

  test('close() cuts open pairs, stops listening and leaves no TCP handles behind', async () => {
    // The vitest worker talks over pipes, so TCP handles here are ours; earlier tests' handles may
    // still be in libuv's close queue, which frees a handle one loop turn after its 'close' event.
    await vi.waitFor(() => expect(tcpHandles()).toBe(0))
    const echo = await startEchoServer()
    const proxy = await startTcpProxy({ targetPort: echo.port })
    const client = await connect(proxy.port)
    await client.read(3)

    const sidesClosed = Promise.all([closed(client.socket), closed(echo.accepted[0]!)])
    await proxy.close()
    await sidesClosed
    expect(proxy.openConnections).toBe(0)

    const refused = net.connect(proxy.port, '127.0.0.1')
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
    expect(err.code).toBe('ECONNREFUSED')
    await closed(refused)

    await echo.close()
    await vi.waitFor(() => expect(tcpHandles()).toBe(0))
  })
})
