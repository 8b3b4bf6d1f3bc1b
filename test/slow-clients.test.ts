import net from 'node:net'
import { createSwitchboard, listen, type Listening } from '@switchboard/server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'

/**
 * Connections that dribble their headers or body are closed once their time is up (listen()'s
 * headersTimeoutMs and requestTimeoutMs), instead of being held for minutes; a long-lived
 * response (an SSE stream) is not cut by them once its request is in.
 */
let server: Listening
const sb = createSwitchboard()

beforeAll(async () => {
  const app = new Hono()
  app.route('/rt', sb.app)
  server = await listen(app, { headersTimeoutMs: 500, requestTimeoutMs: 1_000 })
})
afterAll(async () => {
  await sb.close()
  await server.close()
})

/** Writes `first`, then a byte every 100 ms; resolves with the ms until the server closed it and what it answered. */
function dribble(first: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = net.connect(server.port, '127.0.0.1')
    let answer = ''
    let timer: ReturnType<typeof setInterval> | undefined
    socket.on('connect', () => {
      socket.write(first)
      timer = setInterval(() => socket.writable && socket.write('a'), 100)
    })
    socket.on('data', (d) => (answer += d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearInterval(timer)
      resolve({ ms: Date.now() - started, answer })
    })
  })
}

describe('slow clients', () => {
  it('closes a connection whose headers are still coming after headersTimeoutMs, with 408', async () => {
    const { ms, answer } = await dribble('POST /rt/negotiate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    expect(ms).toBeLessThan(5_000) // Node's own default would hold it 60 s
  })

  it('closes a connection whose body is still coming after requestTimeoutMs, with 408', async () => {
    const { ms, answer } = await dribble('POST /rt/negotiate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3000\r\n\r\n{')
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    expect(ms).toBeLessThan(5_000) // Node's own default would hold it 300 s
  })

  it('keeps a live SSE session past both timeouts', async () => {
    const client = connectClient(`${server.url}/rt`, 'sse', { upgrade: false })
    try {
      await client.ready()
      const lines: string[] = []
      client.on('transport', (t) => lines.push(`${t.from}->${t.to}`))
      await new Promise((r) => setTimeout(r, 2_500))
      expect(lines).toEqual([])
      await expect(client.channel('room:x').subscribe()).rejects.toMatchObject({ code: 'UNKNOWN_CHANNEL' })
      expect(client.transport).toBe('sse')
    } finally {
      client.close()
    }
  })
})
