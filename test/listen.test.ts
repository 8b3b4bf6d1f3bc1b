import type { AddressInfo } from 'node:net'
import { connect as tcpConnect } from 'node:net'
import { serve } from '@hono/node-server'
import type { SwitchboardClient } from '@switchboard/client'
import { createSwitchboard, handleUpgrades, listen, type Listening } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { connectClient } from './helpers/fixture.js'

/**
 * The two ways a Node server takes WebSocket upgrades: listen() / handleUpgrades() (the app routes
 * the request, a shared `ws` server completes the handshake, nothing of the request is kept) and
 * @hono/node-server's own `serve({ websocket })`, which the /ws route still supports.
 */
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

function appWith(sb: ReturnType<typeof createSwitchboard>, guard?: (c: { req: { header(n: string): string | undefined } }) => boolean): Hono {
  const app = new Hono()
  if (guard) app.use('/rt/*', async (c, next) => (guard(c) ? next() : c.text('no entry', 401, { 'x-reason': 'guard' })))
  app.route('/rt', sb.app)
  return app
}

async function echoOver(client: SwitchboardClient): Promise<unknown> {
  await client.ready()
  return client.call('echo', { hello: 'there' })
}

/** The raw HTTP answer to an upgrade request with the given headers. */
function rawUpgrade(port: number, path: string, headers: Record<string, string>, host = `127.0.0.1:${port}`): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${lines.join('')}\r\n`)
    })
    let text = ''
    socket.on('data', (d) => (text += d.toString()))
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })
}

describe('listen()', () => {
  let listening: Listening
  const start = async (guard?: Parameters<typeof appWith>[1]) => {
    const sb = createSwitchboard()
    sb.channel('bench').rpc('echo', (d) => d)
    listening = await listen(appWith(sb, guard))
    cleanups.push(
      () => listening.close(),
      () => sb.close(),
    )
    return `${listening.url}/rt`
  }

  it('routes the upgrade through the app, then serves the session on the WebSocket', async () => {
    const url = await start()
    const client = connectClient(url, 'websocket', { reconnect: false })
    cleanups.push(() => client.close())
    await expect(echoOver(client)).resolves.toEqual({ hello: 'there' })
    expect(client.transport).toBe('websocket')
  })

  it("answers an upgrade the app's middleware refuses with the app's status and headers", async () => {
    await start((c) => c.req.header('authorization') === 'Bearer ok')
    const answer = await rawUpgrade(listening.port, '/rt/ws?sid=x', {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
    })
    expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/)
    expect(answer.toLowerCase()).toContain('x-reason: guard')
  })

  it('lets middleware read the whole upgrade request: headers, URL, its signal and a clone', async () => {
    const seen: unknown[] = []
    const sb = createSwitchboard()
    sb.channel('bench').rpc('echo', (d) => d)
    const app = new Hono()
    app.use('/rt/ws', async (c, next) => {
      const copy = c.req.raw.clone()
      seen.push([c.req.header('sec-websocket-version'), new URL(c.req.url).pathname, c.req.raw.signal.aborted, copy.method, await copy.text()])
      await next()
    })
    app.route('/rt', sb.app)
    listening = await listen(app)
    cleanups.push(
      () => listening.close(),
      () => sb.close(),
    )
    const client = connectClient(`${listening.url}/rt`, 'websocket', { reconnect: false })
    cleanups.push(() => client.close())
    await expect(echoOver(client)).resolves.toEqual({ hello: 'there' })
    expect(client.transport).toBe('websocket')
    expect(seen).toEqual([['13', '/rt/ws', false, 'GET', '']])
  })

  it('answers 400 to an upgrade to another protocol or with a Host no URL can hold, and 404 to one the app has no route for', async () => {
    await start()
    const other = await rawUpgrade(listening.port, '/rt/ws', { Upgrade: 'h2c', Connection: 'Upgrade' })
    expect(other).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    const key = { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' }
    const badHost = await rawUpgrade(listening.port, '/rt/ws?negotiate=1', { Upgrade: 'websocket', Connection: 'Upgrade', ...key }, 'exa mple')
    expect(badHost).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    const elsewhere = await rawUpgrade(listening.port, '/nowhere', {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
    })
    expect(elsewhere).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/)
  })

  it('closes every open WebSocket on close()', async () => {
    const url = await start()
    const client = connectClient(url, 'websocket', { reconnect: false })
    cleanups.push(() => client.close())
    await client.ready()
    const closed = new Promise((resolve) => client.on('state', (e) => e.to !== 'open' && resolve(e.to)))
    await listening.close()
    await expect(closed).resolves.toMatch(/reconnecting|closed/)
  })
})

describe('handleUpgrades() on a server made with serve()', () => {
  it('serves the WebSocket transport', async () => {
    const sb = createSwitchboard()
    sb.channel('bench').rpc('echo', (d) => d)
    const app = appWith(sb)
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    const upgrades = handleUpgrades(server, app)
    await new Promise((r) => server.once('listening', r))
    cleanups.push(
      () => new Promise((r) => server.close(r)),
      () => upgrades.close(),
      () => sb.close(),
    )
    const client = connectClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rt`, 'websocket', { reconnect: false })
    cleanups.push(() => client.close())
    await expect(echoOver(client)).resolves.toEqual({ hello: 'there' })
    expect(upgrades.wss.clients.size).toBe(1)
  })
})

describe("@hono/node-server's serve({ websocket })", () => {
  it('still serves the WebSocket transport through its upgrade helper', async () => {
    const sb = createSwitchboard()
    sb.channel('bench').rpc('echo', (d) => d)
    const app = appWith(sb)
    const wss = new WebSocketServer({ noServer: true })
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } })
    await new Promise((r) => server.once('listening', r))
    cleanups.push(
      () => new Promise((r) => server.close(r)),
      () => {
        for (const ws of wss.clients) ws.terminate()
      },
      () => sb.close(),
    )
    const client = connectClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rt`, 'websocket', { reconnect: false })
    cleanups.push(() => client.close())
    await expect(echoOver(client)).resolves.toEqual({ hello: 'there' })
    expect(wss.clients.size).toBe(1)
  })
})
