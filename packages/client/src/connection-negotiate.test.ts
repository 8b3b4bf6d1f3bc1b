import { FrameType, type TransportName } from '@switchboard/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Connection } from './connection.js'
import { FakeServer, fakeConfig, sessionInfo } from './connection.fakes.js'

/**
 * A new session negotiated in the WebSocket upgrade (`?negotiate=`): the client sends no HELLO,
 * the server's WELCOME carries the negotiate answer. Refusals come as a CLOSE frame; a line that
 * fails falls back to the HTTP negotiate with WebSocket tried last.
 */

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))
let connections: Connection[] = []

function setup(transports: TransportName[] = ['websocket', 'long-polling']) {
  const server = new FakeServer()
  const connection = new Connection(fakeConfig(server, { baseUrl: 'http://switchboard.test/rt?tenant=t1', transports, negotiateInUpgrade: true }))
  const states: { to: string; code?: string | undefined }[] = []
  connection.on('state', ({ to, code }) => states.push({ to, code }))
  connections.push(connection)
  return { server, connection, states }
}

/** Starts; the first socket fails before it opens (the network or a proxy refused the upgrade). */
async function upgradeRefused(t: ReturnType<typeof setup>) {
  t.connection.start()
  await settle()
  t.server.socket.drop(1006)
  await settle()
  await settle()
  return t
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  for (const c of connections) c.close()
  connections = []
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('Connection negotiating in the WebSocket upgrade', () => {
  it('opens one socket that asks for a session, sends no HELLO and takes the WELCOME answer as its session', async () => {
    const t = setup()
    t.connection.start()
    await settle()
    const url = new URL(t.server.socket.url)
    expect(url.pathname).toBe('/rt/ws')
    expect(Object.fromEntries(url.searchParams)).toEqual({ tenant: 't1', negotiate: '1', transports: 'websocket,long-polling' })
    t.server.socket.accept()
    expect(t.server.socket.sent).toEqual([])
    t.server.socket.deliver([FrameType.WELCOME, 0, sessionInfo('w1')])
    expect(t.connection.state).toBe('open')
    expect(t.connection.info?.sessionId).toBe('w1')
    expect(t.server.negotiations).toBe(0)
    // A later reattach of that session proves it with a HELLO, as any other.
    t.server.socket.drop()
    await vi.advanceTimersToNextTimerAsync()
    const again = t.server.socket
    expect(new URL(again.url).searchParams.get('sid')).toBe('w1')
    again.accept()
    expect(again.sent).toEqual([[[FrameType.HELLO, 'token-w1', 0, 1]]])
  })

  it('a refusal for good (UNAUTHORIZED in a CLOSE frame) closes the client, with no HTTP negotiate', async () => {
    const t = setup()
    t.connection.start()
    await settle()
    t.server.socket.accept()
    t.server.socket.deliver([FrameType.CLOSE, 'UNAUTHORIZED', 'no cookie', null])
    await settle()
    expect(t.connection.state).toBe('closed')
    expect(t.states.at(-1)).toEqual({ to: 'closed', code: 'UNAUTHORIZED' })
    expect(t.server.negotiations).toBe(0)
  })

  it('a refusal for now (RATE_LIMITED) waits at least its retryAfterMs, then negotiates in the upgrade again', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0) // no jitter added to the server's retryAfterMs
    const t = setup()
    t.connection.start()
    await settle()
    t.server.socket.accept()
    t.server.socket.deliver([FrameType.CLOSE, 'RATE_LIMITED', 'Too many new sessions from this client', 3_000])
    await settle()
    expect(t.states.at(-1)).toEqual({ to: 'backoff', code: 'RATE_LIMITED' })
    const before = t.server.sockets.length
    await vi.advanceTimersByTimeAsync(2_999)
    expect(t.server.sockets.length).toBe(before)
    await vi.advanceTimersByTimeAsync(1)
    expect(t.server.sockets.length).toBe(before + 1)
    expect(new URL(t.server.socket.url).searchParams.get('negotiate')).toBe('1')
    expect(t.server.negotiations).toBe(0)
  })

  it('a socket that never opens (a proxy refusing upgrades) falls back to the HTTP negotiate, WebSocket tried last', async () => {
    const t = await upgradeRefused(setup())
    expect(t.server.negotiations).toBe(1)
    expect(t.connection.state).toBe('open')
    expect(t.connection.transport).toBe('long-polling')
    expect(t.server.sockets.length).toBe(1)
  })

  it('with WebSocket the only transport, the fallback negotiates over HTTP and attaches a socket with a HELLO', async () => {
    const t = await upgradeRefused(setup(['websocket']))
    expect(t.server.negotiations).toBe(1)
    expect(t.server.sockets.length).toBe(2)
    t.server.socket.accept()
    expect(t.server.socket.sent).toEqual([[[FrameType.HELLO, 'token-s1', 0, 1]]])
  })

  it('a WELCOME without the answer (a server that did not negotiate) fails that line: the client negotiates over HTTP', async () => {
    const t = setup()
    t.connection.start()
    await settle()
    t.server.socket.accept()
    t.server.socket.deliver([FrameType.WELCOME, 0])
    await settle()
    await settle()
    expect(t.server.socket.closedWith).toBe(1000)
    expect(t.server.negotiations).toBe(1)
    expect(t.connection.state).toBe('open')
    expect(t.connection.info?.sessionId).toBe('s1')
    expect(t.connection.transport).toBe('long-polling')
  })
})
