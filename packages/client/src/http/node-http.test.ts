import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeHttp } from './node-http.js'

/** A real node:http server on a free loopback port; `handle` answers, `connections` counts TCP connections. */
async function startServer(handle: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void) {
  const server = http.createServer((req, res) => {
    const seen = (perSocket.get(req.socket) ?? 0) + 1
    perSocket.set(req.socket, seen)
    handle(req, res, seen)
  })
  const perSocket = new WeakMap<object, number>()
  let connections = 0
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  }
}

const idle = () => new Promise((resolve) => setTimeout(resolve, 20))
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 200) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

const bodyOf = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = ''
    req.setEncoding('utf8').on('data', (piece: string) => (body += piece))
    req.on('end', () => resolve(body))
  })

describe('nodeHttp', () => {
  it('POSTs a body with its byte length and reads the answer over kept-alive connections', async () => {
    const seen: string[] = []
    const server = await startServer(async (req, res) => {
      seen.push(`${req.method} ${req.headers['content-length']} ${req.headers['x-token']} ${await bodyOf(req)}`)
      res.end('[[1,"é"]]')
    })
    close = server.close
    for (let i = 0; i < 6; i++) {
      const answer = await nodeHttp(server.url, { method: 'POST', headers: { 'x-token': 't' }, body: 'naïve €' })
      expect(answer.status).toBe(200)
      expect(await answer.text()).toBe('[[1,"é"]]')
    }
    expect(seen).toEqual(Array(6).fill('POST 10 t naïve €'))
    // Back to back, a request can leave before the previous connection is back in the pool: two at most.
    expect(server.connections()).toBeLessThanOrEqual(2)
  })

  it('hands a streamed body over piece by piece, a character cut between two writes kept whole', async () => {
    const euro = Buffer.from('€')
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]))
      setTimeout(() => res.end(Buffer.concat([euro.subarray(1), Buffer.from('b')])), 20)
    })
    close = server.close
    const pieces: string[] = []
    await (await nodeHttp(server.url, { headers: {} })).read((piece) => pieces.push(piece))
    expect(pieces.join('')).toBe('a€b')
    expect(pieces.length).toBeGreaterThan(1)
  })

  it('sends a request again, once, on a new connection when the kept-alive one is reset before any answer', async () => {
    // The server's side of a keep-alive timeout racing a new request: the second request on a
    // connection finds it reset.
    let resets = 0
    const server = await startServer((req, res, nth) => {
      if (nth === 2) return (resets++, req.socket.resetAndDestroy())
      void bodyOf(req).then((body) => res.end(`got ${body} (request ${nth} on its connection)`))
    })
    close = server.close
    expect(await (await nodeHttp(server.url, { method: 'POST', headers: {}, body: '1' })).text()).toBe('got 1 (request 1 on its connection)')
    await idle() // the connection is back in the pool: the next request takes it
    expect(await (await nodeHttp(server.url, { method: 'POST', headers: {}, body: '2' })).text()).toBe('got 2 (request 1 on its connection)')
    // It did meet the reset (the test proves the retry only then), and went on over a new connection.
    expect(resets).toBe(1)
    expect(server.connections()).toBe(2)
  })

  it('rejects, without sending again, when a new connection is reset: only a kept-alive one may have met a keep-alive timeout', async () => {
    const server = await startServer((req) => req.socket.resetAndDestroy())
    close = server.close
    await expect(nodeHttp(server.url, { headers: {} })).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect(server.connections()).toBe(1)
  })

  it('rejects when the retry on a new connection is reset too: one retry, not more', async () => {
    let requests = 0
    const server = await startServer((req, res) => {
      if (++requests === 1) return res.end('first')
      req.socket.resetAndDestroy()
    })
    close = server.close
    expect(await (await nodeHttp(server.url, { headers: {} })).text()).toBe('first')
    await idle()
    await expect(nodeHttp(server.url, { headers: {} })).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect([requests, server.connections()]).toEqual([3, 2])
  })

  it('does not send again a request its signal aborted', async () => {
    let requests = 0
    const server = await startServer(() => requests++)
    close = server.close
    const abort = new AbortController()
    const pending = nodeHttp(server.url, { method: 'POST', headers: {}, body: 'x', signal: abort.signal })
    await until(() => requests === 1)
    abort.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await idle()
    expect(requests).toBe(1)
  })

  it('rejects the body read when the connection is reset mid-body', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
      setTimeout(() => req.socket.resetAndDestroy(), 20)
    })
    close = server.close
    const answer = await nodeHttp(server.url, { headers: {} })
    await expect(answer.text()).rejects.toThrow()
  })

  it('aborts an answer whose body nobody reads without an uncaught error, and a read after it rejects', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('partial')
    })
    close = server.close
    const uncaught: unknown[] = []
    const onUncaught = (e: unknown) => uncaught.push(e)
    process.on('uncaughtException', onUncaught)
    try {
      const abort = new AbortController()
      const answer = await nodeHttp(server.url, { headers: {}, signal: abort.signal })
      abort.abort()
      await idle()
      expect(uncaught).toEqual([])
      await expect(answer.text()).rejects.toThrow()
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('takes an abort from inside the last piece of a kept-alive answer without an uncaught error', async () => {
    // The answer's end is already scheduled when the piece arrives: node:http then takes the
    // socket's own error listener away before the abort's error on it is emitted.
    const server = await startServer((_req, res) => res.end('[[7,"CLOSE"]]'))
    close = server.close
    const uncaught: unknown[] = []
    const onUncaught = (e: unknown) => uncaught.push(e)
    process.on('uncaughtException', onUncaught)
    try {
      for (let i = 0; i < 5; i++) {
        const abort = new AbortController()
        const answer = await nodeHttp(server.url, { headers: {}, signal: abort.signal })
        await answer.read(() => abort.abort()).catch(() => {})
        await idle()
      }
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
  })

  it('rejects when its signal aborts a request the server holds', async () => {
    const server = await startServer(() => {})
    close = server.close
    const abort = new AbortController()
    const pending = nodeHttp(server.url, { headers: {}, signal: abort.signal })
    setTimeout(() => abort.abort(), 20)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('rejects when nothing listens', async () => {
    const server = await startServer(() => {})
    await server.close()
    await expect(nodeHttp(server.url, { headers: {} })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
