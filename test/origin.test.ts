import http from 'node:http'
import net from 'node:net'
import type { LogEvent } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startServer, type TestServer } from './helpers/fixture.js'

/**
 * Who may talk to the endpoints from a browser, and the smaller edges of HTTP input. Requests go
 * through node:http, which lets a test set Host as a rebinding page's browser would.
 */
let server: TestServer
const events: LogEvent[] = []

beforeAll(async () => {
  server = await startServer({ logger: (e) => events.push(e) })
})
afterAll(async () => {
  await server?.close()
})

/** POST /negotiate with these headers; resolves with the status, headers and parsed body. */
function negotiate(headers: Record<string, string>, body = '{}', port = server.port) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: { code?: string } }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/rt/negotiate', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = ''
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as { code?: string } }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('same-origin by default: scheme, host and port', () => {
  it('takes its own origin and an Origin-less client', async () => {
    expect((await negotiate({ origin: server.origin })).status).toBe(200)
    expect((await negotiate({})).status).toBe(200)
  })

  it('refuses the same host and port under another scheme, or another port', async () => {
    const https = server.origin.replace('http:', 'https:')
    expect(await negotiate({ origin: https })).toMatchObject({ status: 403, body: { code: 'ORIGIN_NOT_ALLOWED' } })
    expect(await negotiate({ origin: `http://127.0.0.1:${server.port + 1}` })).toMatchObject({ status: 403, body: { code: 'ORIGIN_NOT_ALLOWED' } })
  })

  it('takes the scheme a TLS-ending proxy states in X-Forwarded-Proto', async () => {
    const https = server.origin.replace('http:', 'https:')
    expect((await negotiate({ origin: https, 'x-forwarded-proto': 'https' })).status).toBe(200)
    expect((await negotiate({ origin: server.origin, 'x-forwarded-proto': 'https' })).status).toBe(403)
  })

  it('refuses a DNS-rebinding page: a foreign name that reached a loopback address', async () => {
    const host = `rebind.example:${server.port}`
    expect(await negotiate({ origin: `http://${host}`, host })).toMatchObject({ status: 403, body: { code: 'ORIGIN_NOT_ALLOWED' } })
    // Loopback names pass.
    const local = `localhost:${server.port}`
    expect((await negotiate({ origin: `http://${local}`, host: local })).status).toBe(200)
  })
})

describe("origins: '*'", () => {
  it('lets any site in, but never with credentials', async () => {
    const open = await startServer({ origins: '*' })
    try {
      const answer = await negotiate({ origin: 'http://any.example' }, '{}', open.port)
      expect(answer.status).toBe(200)
      expect(answer.headers['access-control-allow-origin']).toBe('*')
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined()
    } finally {
      await open.close()
    }
  })

  it('a listed origin is reflected with credentials', async () => {
    const listed = await startServer({ origins: ['http://app.example'] })
    try {
      const answer = await negotiate({ origin: 'http://app.example' }, '{}', listed.port)
      expect(answer.headers['access-control-allow-origin']).toBe('http://app.example')
      expect(answer.headers['access-control-allow-credentials']).toBe('true')
      expect((await negotiate({ origin: 'http://other.example' }, '{}', listed.port)).status).toBe(403)
    } finally {
      await listed.close()
    }
  })

  it('an error answer carries the CORS headers too, so the page can read its code, and a fault logs once as internal', async () => {
    const logged: LogEvent[] = []
    const listed = await startServer({
      origins: ['http://app.example'],
      logger: (e) => logged.push(e),
      // A fault of the app's own code that is no refusal (authenticate's errors are UNAUTHORIZED).
      negotiateKey: (c) => {
        if (c.req.header('x-fail') !== undefined) throw new Error('negotiateKey broke')
        return undefined
      },
    })
    try {
      const refused = await negotiate({ origin: 'http://app.example' }, '[]', listed.port)
      expect(refused).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
      expect(refused.headers['access-control-allow-origin']).toBe('http://app.example')
      expect(refused.headers['cache-control']).toBe('no-store')
      const broken = await negotiate({ origin: 'http://app.example', 'x-fail': '1' }, '{}', listed.port)
      expect(broken).toMatchObject({ status: 500, body: { code: 'INTERNAL' } })
      expect(broken.headers['access-control-allow-origin']).toBe('http://app.example')
      const internal = logged.filter((e) => e.kind === 'http' && e.message === 'internal error')
      expect(internal).toHaveLength(1)
      expect((internal[0]!.data as Error).message).toBe('negotiateKey broke')
    } finally {
      await listed.close()
    }
  })
})

describe('small HTTP edges', () => {
  it.each(['null', '[]', '42', '"text"'])('a negotiate body of %s is 400 BAD_REQUEST, not 500', async (body) => {
    expect(await negotiate({}, body)).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
  })

  it('an upload the client cuts short is not logged as an internal error', async () => {
    const s = (await (await fetch(`${server.url}/negotiate`, { method: 'POST' })).json()) as { sessionId: string; resumeToken: string }
    const socket = net.connect(server.port, '127.0.0.1')
    await new Promise((r) => socket.once('connect', r))
    socket.write(
      `POST /rt/send?sid=${s.sessionId} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nx-switchboard-token: ${s.resumeToken}\r\ncontent-length: 5000\r\n\r\n[[13,1,"echo",`,
    )
    await vi.waitFor(() => expect(server.sb.sessionCount).toBeGreaterThan(0))
    socket.resetAndDestroy()
    await vi.waitFor(() => expect(events.filter((e) => e.kind === 'http')).toHaveLength(1))
    expect(events.filter((e) => e.kind === 'http').map((e) => e.message)).toEqual(['client went away mid-request'])
  })
})
