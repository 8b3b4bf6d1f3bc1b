import { once } from 'node:events'
import { encodeFrame, FrameType, PROTOCOL_VERSION } from '@switchboard/protocol'
import type { NegotiateResponse } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { connectClient, startServer, type TestServer } from './helpers/fixture.js'

/**
 * The HTTP transports on the wire, driven raw with fetch: what a POST answer carries. On SSE and
 * long polling it carries the replies the POST's own calls produced (one HTTP exchange per call,
 * not a POST and then an event or the next poll); the stream or the next poll carries the rest.
 */
let server: TestServer
const TOKEN = 'x-switchboard-token'
const ACK = 'x-switchboard-ack'

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server.close()
})

async function negotiate(): Promise<NegotiateResponse> {
  const r = await fetch(`${server.url}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  return (await r.json()) as NegotiateResponse
}
const post = async (s: NegotiateResponse, body: string) =>
  (await fetch(`${server.url}/send?sid=${s.sessionId}`, { method: 'POST', headers: { [TOKEN]: s.resumeToken }, body })).json()
const poll = (s: NegotiateResponse, ack: number, attach = false) =>
  fetch(`${server.url}/poll?sid=${s.sessionId}${attach ? '&attach=1' : ''}`, { headers: { [TOKEN]: s.resumeToken, [ACK]: String(ack) } })

/** True when `answer` has not come 200 ms on (an answer that is due comes within a few). */
async function stillPending(answer: Promise<unknown>): Promise<boolean> {
  const later = Symbol('later')
  return (await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, 200, later))])) === later
}

/** A new session on long polling: attached (its WELCOME taken), with a poll held by the server. */
async function polling(): Promise<{ s: NegotiateResponse; waiting: Promise<Response> }> {
  const s = await negotiate()
  expect(await (await poll(s, 0, true)).json()).toEqual([[1, 0]])
  return { s, waiting: poll(s, 0) } // held: nothing to send yet
}

describe('POST answers', () => {
  it('on long polling, carry the replies to the calls they acked, which the waiting poll then does not repeat', async () => {
    const { s, waiting } = await polling()
    expect(await post(s, '[[13,1,"add",{"a":2,"b":3}],[13,2,"echo","hi"]]')).toEqual([
      [2, 2],
      [21, 1, 1, null, 5],
      [21, 2, 2, null, 'hi'],
    ])
    // The poll is still held; it answers with the next thing the server has to say, and only that.
    expect(await post(s, '[[13,3,"slow",{"ms":20}]]')).toEqual([[2, 3]])
    expect(await (await waiting).json()).toEqual([[21, 3, 3, null, 'done']])
  })

  it('on long polling, fit the ack and a reply to every call of a POST the client cut a frame short of maxBatchFrames', async () => {
    const calls = (from: number, n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => [13, from + i, 'echo', from + i]))
    const { s, waiting } = await polling()
    // The client's POSTs on a polled line carry maxBatchFrames - 1 frames (ServerLimits.polledBatch).
    const answer = (await post(s, calls(1, 511))) as unknown[][]
    expect(answer).toHaveLength(512)
    expect(answer[0]).toEqual([2, 511])
    expect(answer.at(-1)).toEqual([21, 511, 511, null, 511])
    expect(await stillPending(waiting)).toBe(true)
    // A full batch leaves its last reply to the poll: one more poll for every POST of a burst.
    expect(((await post(s, calls(512, 512))) as unknown[][]).length).toBe(512)
    expect(await (await waiting).json()).toEqual([[21, 1023, 1023, null, 1023]])
  })

  it('on long polling, carry nothing more when an async handler answers after the POST: the poll takes it', async () => {
    const { s, waiting } = await polling()
    expect(await post(s, '[[13,1,"slow",{"ms":20}]]')).toEqual([[2, 1]])
    expect(await (await waiting).json()).toEqual([[21, 1, 1, null, 'done']])
  })

  it('take the client ack from the POST header: replies a POST answer delivered are not kept for replay', async () => {
    const { s, waiting } = await polling()
    expect(await post(s, '[[13,1,"echo",1],[13,2,"echo",2]]')).toEqual([
      [2, 2],
      [21, 1, 1, null, 1],
      [21, 2, 2, null, 2],
    ])
    const sendWithAck = (ack: string, body = '[]') =>
      fetch(`${server.url}/send?sid=${s.sessionId}`, { method: 'POST', headers: { [TOKEN]: s.resumeToken, [ACK]: ack }, body })
    expect(await (await sendWithAck('2')).json()).toEqual([[2, 2]])
    // A reattach stating an older ack gets no replay of what the header acked.
    expect(await (await poll(s, 0, true)).json()).toEqual([[1, 2]])
    await waiting
    // A malformed ack is refused; one beyond what was sent is ignored, and the session goes on.
    const bad = await sendWithAck('-1')
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(await (await sendWithAck('99', '[[13,3,"echo",3]]')).json()).toEqual([
      [2, 3],
      [21, 3, 3, null, 3],
    ])
  })

  it('on long polling, are sent again by the next poll from its ack: an answer a proxy lost and asked for again is not lost', async () => {
    const { s, waiting } = await polling()
    expect(await post(s, '[[13,1,"slow",{"ms":20}]]')).toEqual([[2, 1]])
    expect(await (await waiting).json()).toEqual([[21, 1, 1, null, 'done']])
    // That answer never reached the client: the same GET comes again, with the same ack.
    expect(await (await poll(s, 0)).json()).toEqual([[21, 1, 1, null, 'done']])
  })

  it('on long polling, are sent again after a poll the client abandoned, even without a new attach', async () => {
    const { s } = await polling()
    const abort = new AbortController()
    const held = fetch(`${server.url}/poll?sid=${s.sessionId}`, { headers: { [TOKEN]: s.resumeToken, [ACK]: '0' }, signal: abort.signal })
    expect(await post(s, '[[13,1,"echo",1]]')).toEqual([
      [2, 1],
      [21, 1, 1, null, 1],
    ])
    abort.abort()
    await held.catch(() => {})
    // Whether or not the server has seen that poll go yet, the next one starts again from its ack.
    expect(await (await poll(s, 0)).json()).toEqual([[21, 1, 1, null, 1]])
  })

  it('answer a POST that comes again (its first answer lost on the way) from its ack: what the first carried comes again', async () => {
    const { s } = await polling()
    const numbered = async (n: number, body: string) =>
      (await fetch(`${server.url}/send?sid=${s.sessionId}&n=${n}`, { method: 'POST', headers: { [TOKEN]: s.resumeToken, [ACK]: '0' }, body })).json()
    expect(await numbered(1, '[[13,1,"echo",1]]')).toEqual([
      [2, 1],
      [21, 1, 1, null, 1],
    ])
    // A proxy or the browser sent POST 1 again, with its ack: the client never got the reply.
    expect(await numbered(1, '[[13,1,"echo",1]]')).toEqual([
      [2, 1],
      [21, 1, 1, null, 1],
    ])
    // POST 3 overtook POST 2: it waits for it, and neither is taken for a resend.
    const third = numbered(3, '[[13,3,"echo",3]]')
    expect(await numbered(2, '[[13,2,"echo",2]]')).toEqual([
      [2, 3],
      [21, 2, 2, null, 2],
      [21, 3, 3, null, 3],
    ])
    expect(await third).toEqual([[2, 3]])
  })

  it('answer a POST of an older line than the one attached with its ack alone: its client has left that line', async () => {
    const s = await negotiate()
    const attach = await fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1&l=5`, { headers: { [TOKEN]: s.resumeToken, [ACK]: '0' } })
    expect(await attach.json()).toEqual([[1, 0]])
    const waiting = fetch(`${server.url}/poll?sid=${s.sessionId}&l=5&p=1`, { headers: { [TOKEN]: s.resumeToken, [ACK]: '0' } })
    const onLine = async (line: number, body: string) =>
      (
        await fetch(`${server.url}/send?sid=${s.sessionId}&l=${line}&n=1`, { method: 'POST', headers: { [TOKEN]: s.resumeToken, [ACK]: '0' }, body })
      ).json()
    // A POST of line 4 reached the server after line 5 attached: its call is taken, its reply goes on line 5.
    expect(await onLine(4, '[[13,1,"echo",1]]')).toEqual([[2, 1]])
    expect(await (await waiting).json()).toEqual([[21, 1, 1, null, 1]])
    expect(await onLine(5, '[[13,2,"echo",2]]')).toEqual([
      [2, 2],
      [21, 2, 2, null, 2],
    ])
  })

  it('from a POST that overtook the one before it, wait for it: its frames are held, and it is answered once they are taken', async () => {
    const { s } = await polling()
    const early = post(s, '[[13,2,"echo",2],[13,3,"echo",3]]')
    expect(await stillPending(early)).toBe(true)
    expect(await post(s, '[[13,1,"echo",1]]')).toEqual([
      [2, 3],
      [21, 1, 1, null, 1],
      [21, 2, 2, null, 2],
      [21, 3, 3, null, 3],
    ])
    expect(await early).toEqual([[2, 3]])
  })

  it('hold one batch of frames ahead of a gap at most: frames past it are dropped, unacked, for the client to send again', async () => {
    const { s } = await polling()
    // maxBatchFrames (512) ahead of the gap at seq 1 are held; the next is not, and its POST is answered at once.
    const frames = Array.from({ length: 512 }, (_, k) => `[13,${k + 2},"echo",${k + 2}]`)
    const early = post(s, `[${frames.join(',')}]`)
    expect(await post(s, '[[13,514,"echo",514]]')).toEqual([[2, 0]])
    const answer = (await post(s, '[[13,1,"echo",1]]')) as unknown[][]
    expect(answer[0]).toEqual([2, 513])
    expect(((await early) as unknown[][])[0]).toEqual([2, 513])
    const again = (await post(s, '[[13,514,"echo",514]]')) as unknown[][]
    expect(again[0]).toEqual([2, 514])
    expect(again).toContainEqual([21, 514, 514, null, 514])
  })

  it('answer a second POST ahead of the gap at once (a client has one in flight), and the waiting one when the session ends', async () => {
    const { s } = await polling()
    const early = post(s, '[[13,3,"echo",3]]')
    expect(await stillPending(early)).toBe(true)
    expect(await post(s, '[[13,4,"echo",4]]')).toEqual([[2, 0]])
    expect(await stillPending(early)).toBe(true)
    // A frame of no known type breaks the protocol: the session ends, and nothing waits for it.
    const broken = await fetch(`${server.url}/send?sid=${s.sessionId}`, { method: 'POST', headers: { [TOKEN]: s.resumeToken }, body: '[[99]]' })
    expect(broken.status).toBeGreaterThanOrEqual(400)
    expect(((await early) as unknown[][])[0]).toEqual([2, 0])
  })

  it('on SSE too, carry the replies ready when they answer; the stream carries what comes later', async () => {
    const s = await negotiate()
    const abort = new AbortController()
    const stream = await fetch(`${server.url}/sse?sid=${s.sessionId}`, { headers: { [TOKEN]: s.resumeToken, [ACK]: '0' }, signal: abort.signal })
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const until = async (part: string) => {
      while (!text.includes(part)) text += (await reader.read()).value ?? ''
    }
    await until('[[1,0]]')
    expect(await post(s, '[[13,1,"add",{"a":2,"b":3}]]')).toEqual([
      [2, 1],
      [21, 1, 1, null, 5],
    ])
    expect(await post(s, '[[13,2,"slow",{"ms":20}]]')).toEqual([[2, 2]])
    await until('[21,2,2,null,"done"]')
    // The stream never carried the reply the first POST answer delivered.
    expect(text).not.toContain('[21,1,1,')
    abort.abort()
  })
})

describe('Numbered long polls', () => {
  /** A session whose long-polling line 5 attached (poll 0); its polls and POSTs carry the line's number and their own. */
  async function line5() {
    const s = await negotiate()
    const headers = (ack: number) => ({ [TOKEN]: s.resumeToken, [ACK]: String(ack) })
    expect(await (await fetch(`${server.url}/poll?sid=${s.sessionId}&attach=1&l=5`, { headers: headers(0) })).json()).toEqual([[1, 0]])
    return {
      s,
      poll: (p: number, ack: number, line = 5) => fetch(`${server.url}/poll?sid=${s.sessionId}&l=${line}&p=${p}`, { headers: headers(ack) }),
      send: async (n: number, body: string) =>
        (await fetch(`${server.url}/send?sid=${s.sessionId}&l=5&n=${n}`, { method: 'POST', headers: headers(0), body })).json(),
    }
  }

  it('go on after what the line was given: a poll whose ack missed a POST answer is not answered with its replies', async () => {
    const { poll, send } = await line5()
    expect(await send(1, '[[13,1,"echo",1],[13,2,"echo",2]]')).toEqual([
      [2, 2],
      [21, 1, 1, null, 1],
      [21, 2, 2, null, 2],
    ])
    // Poll 1 left before that answer came back (its ack is 0), and waits for what is new.
    const first = poll(1, 0)
    expect(await stillPending(first)).toBe(true)
    expect(await send(2, '[[13,3,"slow",{"ms":20}]]')).toEqual([[2, 3]])
    expect(await (await first).json()).toEqual([[21, 3, 3, null, 'done']])
  })

  it('replay from the ack when one comes again (a proxy lost its answer), and the next goes on', async () => {
    const { poll, send } = await line5()
    const first = poll(1, 0)
    expect(await send(1, '[[13,1,"slow",{"ms":20}]]')).toEqual([[2, 1]])
    expect(await (await first).json()).toEqual([[21, 1, 1, null, 'done']])
    // That answer never reached the client: the same poll comes again, and carries the reply again.
    expect(await (await poll(1, 0)).json()).toEqual([[21, 1, 1, null, 'done']])
    const second = poll(2, 0)
    expect(await stillPending(second)).toBe(true)
    expect(await send(2, '[[13,2,"slow",{"ms":20}]]')).toEqual([[2, 2]])
    expect(await (await second).json()).toEqual([[21, 2, 2, null, 'done']])
  })

  it('are what the client sends: after its attach poll, each next number on the same line, once the one before was answered', async () => {
    const polls: { query: URLSearchParams; ack: string | null }[] = []
    // The real client over the real server; its HTTP goes through fetch so each poll's URL is seen.
    const recording: typeof fetch = (input, init) => {
      const url = new URL(String(input))
      if (url.pathname.endsWith('/poll')) polls.push({ query: url.searchParams, ack: new Headers(init?.headers).get(ACK) })
      return fetch(input, init)
    }
    const client = connectClient(server.url, 'long-polling', { upgrade: false, fetch: recording })
    try {
      await client.ready()
      // Each reply comes after its POST was answered, so a poll carries it and the next poll leaves.
      for (let k = 0; k < 3; k++) expect(await client.call('slow', { ms: 20 })).toBe('done')
      const line = polls[0]!.query.get('l')
      expect(Number(line)).toBeGreaterThan(0)
      expect(polls[0]!.query.get('attach')).toBe('1')
      const numbered = polls.slice(1)
      expect(numbered.length).toBeGreaterThanOrEqual(4)
      expect(numbered.map((p) => [p.query.get('l'), p.query.get('p'), p.query.get('attach')])).toEqual(
        numbered.map((_, k) => [line, String(k + 1), null]),
      )
      // Each poll left once the one before had brought its reply: its ack counts it.
      expect(numbered.slice(0, 4).map((p) => p.ack)).toEqual(['0', '1', '2', '3'])
    } finally {
      client.close()
    }
  })

  it('replay from the ack after a poll the client abandoned, and for a poll of another line', async () => {
    const { s, poll, send } = await line5()
    expect(await send(1, '[[13,1,"echo",1]]')).toEqual([
      [2, 1],
      [21, 1, 1, null, 1],
    ])
    const abort = new AbortController()
    const held = fetch(`${server.url}/poll?sid=${s.sessionId}&l=5&p=1`, { headers: { [TOKEN]: s.resumeToken, [ACK]: '0' }, signal: abort.signal })
    expect(await stillPending(held)).toBe(true)
    abort.abort()
    await held.catch(() => {})
    // Whether or not the server has seen poll 1 go yet, poll 2 does not follow an answered one.
    expect(await (await poll(2, 0)).json()).toEqual([[21, 1, 1, null, 1]])
    // A newer line whose attach poll this node never saw (the session came from another node).
    expect(await (await poll(3, 0, 6)).json()).toEqual([[21, 1, 1, null, 1]])
  })
})

describe('Lines the client left', () => {
  const headers = (s: NegotiateResponse) => ({ [TOKEN]: s.resumeToken, [ACK]: '0' })
  const get = (s: NegotiateResponse, path: string, query: string) =>
    fetch(`${server.url}/${path}?sid=${s.sessionId}&${query}`, { headers: headers(s) })
  const send = async (s: NegotiateResponse, line: number, body: string) =>
    (await fetch(`${server.url}/send?sid=${s.sessionId}&l=${line}&n=1`, { method: 'POST', headers: headers(s), body })).json()
  const refused = async (answer: Response) => [answer.status, ((await answer.json()) as { code: string }).code]

  /** A session whose long-polling line 6 attached after line 5, with line 6's first poll held. */
  async function movedToLine6() {
    const s = await negotiate()
    expect(await (await get(s, 'poll', 'attach=1&l=5')).json()).toEqual([[1, 0]])
    expect(await (await get(s, 'poll', 'attach=1&l=6')).json()).toEqual([[1, 0]])
    return { s, held: get(s, 'poll', 'l=6&p=1') }
  }

  it('refuse a poll of an older line with SUPERSEDED: the line attached keeps the session and its poll', async () => {
    const { s, held } = await movedToLine6()
    expect(await stillPending(held)).toBe(true)
    expect(await refused(await get(s, 'poll', 'l=5&p=1'))).toEqual([409, 'SUPERSEDED'])
    expect(await stillPending(held)).toBe(true)
    expect(await send(s, 6, '[[13,1,"slow",{"ms":20}]]')).toEqual([[2, 1]])
    expect(await (await held).json()).toEqual([[21, 1, 1, null, 'done']])
  })

  it('refuse an attach poll and an SSE stream of an older line as well', async () => {
    const { s, held } = await movedToLine6()
    expect(await refused(await get(s, 'poll', 'attach=1&l=5'))).toEqual([409, 'SUPERSEDED'])
    expect(await refused(await get(s, 'sse', 'l=4'))).toEqual([409, 'SUPERSEDED'])
    expect(await stillPending(held)).toBe(true)
    // A newer line still takes over: the held poll of line 6 is answered, empty.
    expect(await (await get(s, 'poll', 'attach=1&l=7')).json()).toEqual([[1, 0]])
    expect(await (await held).json()).toEqual([])
  })

  it('refuse a poll once a WebSocket attached, which keeps the session; a new HTTP line takes it back', async () => {
    const s = await negotiate()
    expect(await (await get(s, 'poll', 'attach=1&l=5')).json()).toEqual([[1, 0]])
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
    const batches: unknown[] = []
    socket.on('message', (data) => batches.push(JSON.parse(String(data))))
    const closed = once(socket, 'close')
    await once(socket, 'open')
    socket.send(`[${encodeFrame([FrameType.HELLO, s.resumeToken, 0, PROTOCOL_VERSION])}]`)
    await vi.waitFor(() => expect(batches).toEqual([[[1, 0]]]))
    // The poll that left as the client switched: refused, and the WebSocket carries the call after it.
    expect(await refused(await get(s, 'poll', 'l=5&p=1'))).toEqual([409, 'SUPERSEDED'])
    socket.send('[[13,1,"echo",1]]')
    await vi.waitFor(() => expect(batches.at(-1)).toEqual([[21, 1, 1, null, 1]]))
    // The client's way back to HTTP: an attach poll of a new line ends the WebSocket as SUPERSEDED.
    expect(await (await get(s, 'poll', 'attach=1&l=7')).json()).toEqual([
      [1, 1],
      [21, 1, 1, null, 1],
    ])
    expect((await closed)[0]).toBe(4021)
  })
})

describe('POST answer headers', () => {
  const sendRaw = (base: string, s: NegotiateResponse, headers: Record<string, string> = {}) =>
    fetch(`${base}/send?sid=${s.sessionId}`, {
      method: 'POST',
      headers: { [TOKEN]: s.resumeToken, ...headers },
      body: '[[13,1,"echo","hi"]]',
    })
  const negotiateAt = async (base: string, headers: Record<string, string> = {}) =>
    (await (
      await fetch(`${base}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' })
    ).json()) as NegotiateResponse

  it('are JSON, never cached, with the exact length of the batch', async () => {
    const s = await negotiateAt(server.url)
    const r = await sendRaw(server.url, s)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(r.headers.get('cache-control')).toBe('no-cache, no-store, no-transform')
    const body = await r.text()
    expect(r.headers.get('content-length')).toBe(String(Buffer.byteLength(body)))
    expect(JSON.parse(body)).toEqual([[2, 1]])
  })

  it('carry the CORS headers to an allowed origin, along with the batch', async () => {
    const cors = await startServer({ origins: ['http://app.example'] })
    try {
      const origin = { origin: 'http://app.example' }
      const s = await negotiateAt(cors.url, origin)
      const r = await sendRaw(cors.url, s, origin)
      expect(r.status).toBe(200)
      expect(r.headers.get('access-control-allow-origin')).toBe('http://app.example')
      expect(r.headers.get('access-control-allow-credentials')).toBe('true')
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(r.headers.get('cache-control')).toBe('no-cache, no-store, no-transform')
      expect(await r.json()).toEqual([[2, 1]])
    } finally {
      await cors.close()
    }
  })
})
