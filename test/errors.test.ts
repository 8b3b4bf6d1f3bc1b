import type { SwitchboardError } from '@switchboard/client'
import type { NegotiateResponse } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startBystander, type Bystander } from './helpers/bystander.js'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'

/**
 * Bad input at the protocol level, sent raw (fetch and `ws`), as a broken or hostile client would.
 * Each case is answered with its documented code, and a bystander session keeps working.
 */
let server: TestServer
let bystander: Bystander
const TOKEN = 'x-switchboard-token'

beforeAll(async () => {
  server = await startServer({ maxBatchBytes: 20_000, maxBatchFrames: 64, maxMessageBytes: 4_000, maxSessions: 200 })
  bystander = await startBystander(server)
})
afterAll(async () => {
  bystander.client.close()
  await server.close()
})

const bystanderStillWorks = () => bystander.stillWorks()

async function negotiate(headers: Record<string, string> = {}, body = '{}') {
  return fetch(`${server.url}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
}
async function session(): Promise<NegotiateResponse> {
  return (await negotiate()).json() as Promise<NegotiateResponse>
}
const send = (s: Pick<NegotiateResponse, 'sessionId' | 'resumeToken'>, body: string) =>
  fetch(`${server.url}/send?sid=${s.sessionId}`, { method: 'POST', headers: { [TOKEN]: s.resumeToken }, body })

/** An ended session answers a returning client with its final words: WELCOME, ACK, CLOSE with the code. */
async function expectEnded(s: Pick<NegotiateResponse, 'sessionId' | 'resumeToken'>, code: string) {
  const post = await send(s, '[[13,1,"add",{"a":1,"b":1}]]')
  expect(post.headers.get('content-type')).toBe('application/json; charset=utf-8')
  expect(await post.json()).toEqual([[2, 0]]) // nothing after the end is processed
  const poll = await fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1`, { headers: { [TOKEN]: s.resumeToken } })
  expect(await poll.json()).toEqual([
    [1, 0],
    [2, 0],
    [5, code, expect.any(String), null],
  ])
}

async function expectError(res: Response | Promise<Response>, status: number, code: string) {
  const r = await res
  expect({ status: r.status, body: await r.json() }).toMatchObject({ status, body: { code, message: expect.any(String) } })
}

/** Opens a raw WebSocket, sends `first`, and resolves with the close code the server chose. */
function wsClose(query: string, first?: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws${query}`, { headers })
    ws.on('open', () => first !== undefined && ws.send(first))
    ws.on('close', (code) => resolve(code))
    ws.on('error', reject)
  })
}

describe('HTTP endpoints refuse bad input with documented codes', () => {
  it('unknown session: 404 UNKNOWN_SESSION on send, sse and poll', async () => {
    const ghost = { sessionId: 'no-such-session', resumeToken: 'x' }
    await expectError(send(ghost, '[]'), 404, 'UNKNOWN_SESSION')
    await expectError(fetch(`${server.url}/sse?sid=nope`, { headers: { [TOKEN]: 'x' } }), 404, 'UNKNOWN_SESSION')
    await expectError(fetch(`${server.url}/poll?sid=nope&attach=1`, { headers: { [TOKEN]: 'x' } }), 404, 'UNKNOWN_SESSION')
    await bystanderStillWorks()
  })

  it('wrong resume token: 401 INVALID_TOKEN, and the real session is unharmed', async () => {
    const s = await session()
    await expectError(send({ ...s, resumeToken: 'wrong' }, '[]'), 401, 'INVALID_TOKEN')
    await expectError(fetch(`${server.url}/sse?sid=${s.sessionId}`), 401, 'INVALID_TOKEN')
    const ok = await send(s, '[[13,1,"add",{"a":2,"b":3}]]')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual([[2, 1]])
    await bystanderStillWorks()
  })

  it('malformed batch: 400 MALFORMED_FRAME and that session ends', async () => {
    for (const body of ['not json', '{"a":1}', '[[99,1]]', '[[12,1]]', '[[12,-1,"room:a",1]]', '[[10,1,"",null]]', '[[12,1,"room:a",1,2]]']) {
      const s = await session()
      await expectError(send(s, body), 400, 'MALFORMED_FRAME')
      await expectEnded(s, 'MALFORMED_FRAME')
    }
    await bystanderStillWorks()
  })

  it('oversized batch: 413 BATCH_TOO_LARGE by bytes and by frame count', async () => {
    const big = await session()
    await expectError(send(big, `[[12,1,"room:a","${'x'.repeat(30_000)}"]]`), 413, 'BATCH_TOO_LARGE')
    const many = await session()
    await expectError(send(many, JSON.stringify(Array.from({ length: 65 }, () => [3]))), 413, 'BATCH_TOO_LARGE')
    await bystanderStillWorks()
  })

  it('a chunked body (no Content-Length) is measured as it streams: over the limit 413, within it taken', async () => {
    const chunked = (s: NegotiateResponse, parts: string[]) =>
      fetch(`${server.url}/send?sid=${s.sessionId}`, {
        method: 'POST',
        headers: { [TOKEN]: s.resumeToken },
        body: new ReadableStream({
          start(controller) {
            for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
            controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
    const small = await session()
    const ok = await chunked(small, ['[[13,1,"add",', '{"a":1,"b":2}]]'])
    expect({ status: ok.status, body: await ok.json() }).toEqual({ status: 200, body: [[2, 1]] })
    const big = await session()
    await expectError(chunked(big, ['[[12,1,"room:a","', 'x'.repeat(15_000), 'x'.repeat(15_000), '"]]']), 413, 'BATCH_TOO_LARGE')
    await bystanderStillWorks()
  })

  it('bad ack header: 400 BAD_REQUEST, for a non-number and for an ack beyond what was sent', async () => {
    const s = await session()
    const poll = (ack: string) =>
      fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1`, { headers: { [TOKEN]: s.resumeToken, 'x-switchboard-ack': ack } })
    await expectError(poll('banana'), 400, 'BAD_REQUEST')
    await expectError(poll('5'), 400, 'BAD_REQUEST')
    const welcome = await poll('0')
    expect(await welcome.json()).toEqual([[1, 0]])
  })

  it('negotiate: bad JSON is BAD_REQUEST, another protocol version is PROTOCOL_MISMATCH', async () => {
    await expectError(negotiate({}, '{oops'), 400, 'BAD_REQUEST')
    await expectError(negotiate({}, '{"version":99}'), 400, 'PROTOCOL_MISMATCH')
    await expectError(negotiate({}, '{"transports":["carrier-pigeon"]}'), 400, 'TRANSPORT_NOT_ALLOWED')
  })

  it('a foreign Origin is refused with 403 ORIGIN_NOT_ALLOWED; same-origin and Origin-less requests pass', async () => {
    await expectError(negotiate({ origin: 'http://evil.example' }), 403, 'ORIGIN_NOT_ALLOWED')
    expect((await negotiate({ origin: server.origin })).status).toBe(200)
    expect((await negotiate()).status).toBe(200)
  })

  it('a call or publish over maxMessageBytes is answered MESSAGE_TOO_LARGE and the session carries on', async () => {
    const s = await session()
    const big = JSON.stringify('y'.repeat(5_000))
    const sent = await send(s, `[[13,1,"echo",${big}],[12,2,"room:a",${big}],[13,3,"echo","small"]]`)
    expect(await sent.json()).toEqual([[2, 3]])
    const replies = await (await fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1`, { headers: { [TOKEN]: s.resumeToken } })).json()
    expect(replies).toEqual([
      [1, 3],
      [21, 1, 1, 'MESSAGE_TOO_LARGE', expect.any(String)],
      [21, 2, 2, 'MESSAGE_TOO_LARGE', expect.any(String)],
      [21, 3, 3, null, 'small'],
    ])
  })

  it('measures a lone call by its batch: one at the limit is taken, one byte over is refused, and an ACK beside it changes nothing', async () => {
    const s = await session()
    const exactly = JSON.stringify('z'.repeat(4_000 - 2)) // 4,000 bytes encoded: the limit
    const over = JSON.stringify('z'.repeat(4_000 - 1))
    expect(await (await send(s, `[[13,1,"echo",${exactly}]]`)).json()).toEqual([[2, 1]])
    expect(await (await send(s, `[[13,2,"echo",${over}]]`)).json()).toEqual([[2, 2]])
    expect(await (await send(s, `[[2,0],[13,3,"echo",${exactly}]]`)).json()).toEqual([[2, 3]])
    const replies = await (await fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1`, { headers: { [TOKEN]: s.resumeToken } })).json()
    expect(replies).toEqual([
      [1, 3],
      [21, 1, 1, null, JSON.parse(exactly)],
      [21, 2, 2, 'MESSAGE_TOO_LARGE', expect.any(String)],
      [21, 3, 3, null, JSON.parse(exactly)],
    ])
  })

  it('the client refuses an oversized call or publish itself, before sending', async () => {
    const c = connectClient(server.url, 'sse')
    try {
      await c.ready()
      await expect(c.call('echo', 'y'.repeat(5_000)).catch((e: SwitchboardError) => e.code)).resolves.toBe('MESSAGE_TOO_LARGE')
      await expect(
        c
          .channel('room:a')
          .publish('y'.repeat(5_000))
          .catch((e: SwitchboardError) => e.code),
      ).resolves.toBe('MESSAGE_TOO_LARGE')
      await expect(c.call('echo', 'small')).resolves.toBe('small')
    } finally {
      c.close()
    }
  })
})

describe('the WebSocket endpoint closes bad sessions with documented close codes', () => {
  it('unknown session: 4006, wrong token: 4007, wrong first frame: 4000, other version: 4022', async () => {
    const s = await session()
    expect(await wsClose('?sid=nope', '[[0,"x",0,1]]')).toBe(4006)
    expect(await wsClose(`?sid=${s.sessionId}`, '[[0,"wrong",0,1]]')).toBe(4007)
    expect(await wsClose(`?sid=${s.sessionId}`, '[[3]]')).toBe(4000)
    expect(await wsClose(`?sid=${s.sessionId}`, `[[0,"${s.resumeToken}",0,7]]`)).toBe(4022)
    expect(await wsClose(`?sid=${s.sessionId}`, 'garbage')).toBe(4001)
    await bystanderStillWorks()
  })

  it('a foreign Origin is closed with 4005', async () => {
    const s = await session()
    expect(await wsClose(`?sid=${s.sessionId}`, undefined, { origin: 'http://evil.example' })).toBe(4005)
  })

  it('a malformed or oversized batch on a live socket closes it with 4001 or 4003 and ends the session', async () => {
    for (const [payload, code] of [
      ['[[42]]', 4001],
      [`[[13,1,"echo","${'z'.repeat(25_000)}"]]`, 4003],
    ] as const) {
      const s = await session()
      const closed = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
        ws.on('open', () => ws.send(`[[0,"${s.resumeToken}",0,1]]`))
        ws.on('message', (data) => {
          if (String(data).startsWith('[[1,')) ws.send(payload)
        })
        ws.on('close', resolve)
        ws.on('error', reject)
      })
      expect(closed).toBe(code)
      await expectEnded(s, code === 4001 ? 'MALFORMED_FRAME' : 'BATCH_TOO_LARGE')
    }
    await bystanderStillWorks()
  })
})

describe('limits and identity', () => {
  it('refuses sessions past maxSessions with 503 TOO_MANY_SESSIONS', async () => {
    const small = await startServer({ maxSessions: 2 })
    try {
      const neg = () => fetch(`${small.url}/negotiate`, { method: 'POST' })
      expect((await neg()).status).toBe(200)
      expect((await neg()).status).toBe(200)
      const full = await neg()
      expect(full.headers.get('retry-after')).toBe('5')
      await expectError(full, 503, 'TOO_MANY_SESSIONS')
      expect(await (await neg()).json()).toMatchObject({ retryAfterMs: 5_000 })
    } finally {
      await small.close()
    }
  })

  it('authenticate: refusal is 401 UNAUTHORIZED; the identity it returns follows the session', async () => {
    const authed = await startServer({
      authenticate: (c) => {
        const user = c.req.header('authorization')?.replace('Bearer ', '')
        return user ? { user } : false
      },
    })
    const c = connectClient(authed.url, 'websocket', { headers: { authorization: 'Bearer ada' } })
    try {
      await expectError(fetch(`${authed.url}/negotiate`, { method: 'POST' }), 401, 'UNAUTHORIZED')
      await expect(c.call('whoami', null)).resolves.toEqual({ user: 'ada' })
      const refused = connectClient(authed.url, 'websocket')
      const error = await refused.ready().catch((e: SwitchboardError) => e)
      expect(error).toMatchObject({ code: 'UNAUTHORIZED' })
      expect(refused.state).toBe('closed')
    } finally {
      c.close()
      await authed.close()
    }
  })
})
