import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createSwitchboard, type LogEvent } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'

/**
 * Switchboard's HTTP endpoints behind @hono/node-server on an HTTP/2 server (cleartext, h2c), as
 * an app serving it that way would: Node's compatibility request then has no socket of its own
 * (its `socket` is a proxy of the stream), which is what the error path reads to tell a client
 * that went away from a fault of ours.
 */
let stop: (() => Promise<void>) | undefined
afterEach(async () => {
  await stop?.()
  stop = undefined
})

async function startHttp2(logged: LogEvent[]) {
  const sb = createSwitchboard({
    logger: (e) => logged.push(e),
    negotiateKey: (c) => {
      if (c.req.header('x-fail') !== undefined) throw new Error('negotiateKey broke')
      return undefined
    },
  })
  const app = new Hono()
  // Resolves when an upload reaches the app: its handler then reads the body as it comes.
  let uploadArrived!: () => void
  const uploading = new Promise<void>((resolve) => (uploadArrived = resolve))
  app.use('/rt/send', async (_c, next) => {
    uploadArrived()
    await next()
  })
  app.route('/rt', sb.app)
  const server = serve({ fetch: app.fetch, createServer: http2.createServer, port: 0, hostname: '127.0.0.1' }) as http2.Http2Server
  await new Promise<void>((resolve) => server.once('listening', resolve))
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  stop = async () => {
    session.close()
    await sb.close({ drainTimeoutMs: 0 })
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { sb, session, uploading }
}

/** One request over the HTTP/2 session: its status and body. */
function request(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', ...headers })
    let status = 0
    let text = ''
    stream.on('response', (h) => (status = Number(h[':status'])))
    stream.setEncoding('utf8').on('data', (piece: string) => (text += piece))
    stream.on('end', () => resolve({ status, body: text }))
    stream.on('error', reject)
    stream.end(body)
  })
}

describe('over HTTP/2', () => {
  it('negotiates, and answers a fault of its own with 500 INTERNAL, logged once as an internal error', async () => {
    const logged: LogEvent[] = []
    const { session } = await startHttp2(logged)
    const ok = await request(session, '/rt/negotiate', {}, '{}')
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toMatchObject({ sessionId: expect.any(String), resumeToken: expect.any(String) })
    const broken = await request(session, '/rt/negotiate', { 'x-fail': '1' }, '{}')
    expect(broken.status).toBe(500)
    expect(JSON.parse(broken.body)).toMatchObject({ code: 'INTERNAL' })
    const http = logged.filter((e) => e.kind === 'http')
    expect(http.map((e) => e.message)).toEqual(['internal error'])
    expect((http[0]!.data as Error).message).toBe('negotiateKey broke')
  })

  it('logs an upload whose stream the client cancels as a client that went away, and goes on serving', async () => {
    const logged: LogEvent[] = []
    const { session, uploading } = await startHttp2(logged)
    const s = JSON.parse((await request(session, '/rt/negotiate', {}, '{}')).body) as { sessionId: string; resumeToken: string }
    const upload = session.request({
      ':method': 'POST',
      ':path': `/rt/send?sid=${s.sessionId}`,
      'x-switchboard-token': s.resumeToken,
      'content-length': '5000',
    })
    upload.on('error', () => {}) // the cancel below
    upload.write('[[13,1,"echo",')
    // Cancelled once the upload is in the app, whose handler is then waiting for the rest of the body.
    await uploading
    await new Promise((resolve) => setImmediate(resolve))
    upload.close(http2.constants.NGHTTP2_CANCEL)
    await vi.waitFor(() => expect(logged.filter((e) => e.kind === 'http')).toHaveLength(1))
    expect(logged.filter((e) => e.kind === 'http').map((e) => e.message)).toEqual(['client went away mid-request'])
    // The same connection still serves.
    expect((await request(session, '/rt/negotiate', {}, '{}')).status).toBe(200)
  })
})
