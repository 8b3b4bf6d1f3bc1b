import http from 'node:http'
import type net from 'node:net'
import { closeServer, listenOnLoopback } from './sockets.js'

/**
 * What the proxy does with an upstream `POST .../send`: pass it on, read it and never answer
 * (as some corporate proxies and antivirus do), read it and answer 504 after `gatewayMs`, or
 * (`overtake`) hold one in `overtakeEvery` for `overtakeMs` before passing it on, so the next
 * ones overtake it. `retry-poll` takes every other long poll and, when its answer carries frames,
 * drops that answer, sends the same GET again and passes on the second answer, as nginx does when
 * its upstream fails mid-answer (`proxy_next_upstream`, on by default for GETs). `retry-post` does
 * the same to every other POST, as a browser may on a reused connection that breaks.
 */
export type PostMode = 'pass' | 'stall' | 'gateway-timeout' | 'overtake' | 'retry-poll' | 'retry-post'

export interface PostStallingProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** POSTs swallowed (stalled or answered 504) so far. */
  readonly swallowed: number
  /** POSTs passed on while an earlier one was held (overtake mode) so far. */
  readonly overtaken: number
  /** Answers with frames lost and asked for again (retry-poll and retry-post modes) so far. */
  readonly retried: number
  setMode(mode: PostMode): void
  close(): Promise<void>
}

/**
 * An HTTP reverse proxy on 127.0.0.1 port 0 in front of `targetPort`: every request and response
 * is streamed through unbuffered (SSE and long polls work), except upstream POSTs in a
 * swallowing mode. No WebSocket: clients behind it use SSE or long polling.
 */
export async function startPostStallingProxy(options: {
  targetPort: number
  gatewayMs?: number
  overtakeMs?: number
  overtakeEvery?: number
}): Promise<PostStallingProxy> {
  let mode: PostMode = 'pass'
  let swallowed = 0
  let overtaken = 0
  let retried = 0
  let asked = 0
  let posts = 0
  let held = 0
  const sockets = new Set<net.Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()

  const server = http.createServer((req, res) => {
    const upstreamPost = req.method === 'POST' && /\/send(\?|$)/.test(req.url ?? '')
    const poll = req.method === 'GET' && /\/poll\?/.test(req.url ?? '') && !/[?&]attach=1/.test(req.url ?? '')
    if ((mode === 'retry-poll' && poll) || (mode === 'retry-post' && upstreamPost)) {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => retry(req, Buffer.concat(chunks), res, (asked++ & 1) === 1))
      return
    }
    if (mode === 'overtake' && upstreamPost) {
      if (posts++ % (options.overtakeEvery ?? 2) === 0) {
        held++
        const timer = setTimeout(() => {
          timers.delete(timer)
          held--
          forward(req, res)
        }, options.overtakeMs ?? 50)
        timers.add(timer)
        return
      }
      if (held > 0) overtaken++
    } else if ((mode === 'stall' || mode === 'gateway-timeout') && upstreamPost) {
      swallowed++
      req.resume() // read the whole body: the client sees its upload complete
      if (mode === 'gateway-timeout') {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.writableEnded) res.writeHead(504, { 'content-type': 'text/html' }).end('<h1>504 Gateway Time-out</h1>')
        }, options.gatewayMs ?? 500)
        timers.add(timer)
      }
      return
    }
    forward(req, res)
  })
  /** Sends the request on; with `lose`, an answer that carries frames is dropped and the same request sent again. */
  const retry = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, lose: boolean) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: options.targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          const text = Buffer.concat(chunks)
          if (lose && answer.statusCode === 200 && carriesFrames(text.toString())) {
            retried++
            return retry(req, body, res, false)
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(text)
        })
      },
    )
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    upstream.end(body)
  }
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: options.targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  }
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const port = await listenOnLoopback(server)
  return {
    url: `http://127.0.0.1:${port}`,
    get swallowed() {
      return swallowed
    },
    get overtaken() {
      return overtaken
    },
    get retried() {
      return retried
    },
    setMode(next) {
      mode = next
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      await closeServer(server, [...sockets])
    },
  }
}

/** A batch of server frames with any but ACK, PING and PONG: what an answer lost on the way takes with it. */
function carriesFrames(text: string): boolean {
  try {
    return (JSON.parse(text) as unknown[][]).some((f) => Array.isArray(f) && ![2, 3, 4].includes(f[0] as number))
  } catch {
    return false
  }
}
