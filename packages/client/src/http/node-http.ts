import http from 'node:http'
import https from 'node:https'
import { finished } from 'node:stream/promises'
import type { HttpAnswer, HttpClient, HttpRequest } from './http.js'

/**
 * HTTP in Node over node:http / node:https, whose parser is native. One keep-alive pool per
 * scheme for every client in the process; idle pooled connections do not keep the process alive.
 * No connection limit (a held poll or stream never queues a POST behind it), no pipelining, and
 * no timeouts: a poll is held pollTimeoutMs and a stream is quiet for heartbeatMs, both the
 * server's to set, and the client's liveness watch decides that a line is dead, on every transport.
 *
 * Why not undici, whose request() costs 20-30 µs less CPU a request: its parser is WebAssembly,
 * and V8 compiles it again with TurboFan once a process has parsed enough answers, 200-360 ms of
 * CPU in the first second of a busy client. A cold process's burst over SSE or long polling paid
 * that on its core: 1.13-1.20× faster over node:http (bench/README.md, "Next" item 5).
 */

// node:http takes a kept-alive socket's 'error' listener away when its answer ends, and gives the
// pool's only once the socket is back (Node's own comments name the gap). A request aborted from
// inside its answer's last piece destroys the socket with the abort, whose error is emitted in
// that gap: uncaught, the process's end. So each socket has a listener of its own for its whole
// life; a request still gets its socket's errors through its own listener.
const ignore = () => {}
class HttpAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    return super.createConnection(...args)?.on('error', ignore)
  }
}
class HttpsAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>) {
    return super.createConnection(...args)?.on('error', ignore)
  }
}
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) }

interface Origin {
  open: typeof http.request
  agent: http.Agent
  hostname: string
  port: string
}
/** Parsed origins: each request's URL differs (POSTs and polls are numbered); its origin does not. */
const origins = new Map<string, Origin>()

function originOf(origin: string): Origin {
  let parsed = origins.get(origin)
  if (parsed) return parsed
  const url = new URL(origin)
  const secure = url.protocol === 'https:'
  // An IPv6 host comes in brackets, which a hostname must not have.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  parsed = { open: secure ? https.request : http.request, agent: agents[secure ? 'https:' : 'http:'], hostname, port: url.port }
  if (origins.size >= 64) origins.clear()
  origins.set(origin, parsed)
  return parsed
}

/** The HTTP client in Node: what the client uses there unless given `fetch`. */
export const nodeHttp: HttpClient = (url, request) => send(url, request, true)

function send(url: string, init: HttpRequest, mayRetry: boolean): Promise<HttpAnswer> {
  const { method = 'GET', headers, body, signal } = init
  // The client's URLs are absolute and normalized (endpoints.ts builds them with URL).
  const pathAt = url.indexOf('/', url.indexOf('//') + 2)
  const { open, agent, hostname, port } = originOf(pathAt < 0 ? url : url.slice(0, pathAt))
  const path = pathAt < 0 ? '/' : url.slice(pathAt)
  const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
  return new Promise((resolve, reject) => {
    let answered = false
    const request = open({ method, hostname, port, path, headers: sent, agent, signal }, (response) => {
      answered = true
      resolve(answerOf(response))
    })
    request.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) return // the answer's own reader reports it
      // A pooled connection the server closed just as it was picked (its keep-alive timeout): sent
      // once more on a new connection, as browsers do. Safe for every request here: the server drops
      // frames by seq it already has, and polls and streams carry the ack.
      if (mayRetry && request.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve(send(url, init, false))
      else reject(e)
    })
    request.end(body)
  })
}

function answerOf(response: http.IncomingMessage): HttpAnswer {
  // setEncoding keeps a multi-byte character cut between two reads whole.
  response.setEncoding('utf8')
  // A body nobody reads (an error answer, a line closed meanwhile) is destroyed with the request's
  // abort: that must not become an uncaught error. A reader gets it through finished().
  response.on('error', ignore)
  const read = async (onText: (text: string) => void) => {
    response.on('data', onText)
    // Settles on the end, on an error, and on a close before the end (a reset, an abort), even
    // one that came before this call.
    await finished(response)
  }
  return {
    status: response.statusCode ?? 0,
    read,
    async text() {
      let text = ''
      await read((piece) => (text += piece))
      return text
    },
  }
}
