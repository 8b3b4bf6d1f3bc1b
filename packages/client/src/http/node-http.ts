import { Pool, type Dispatcher } from 'undici'
import type { HttpAnswer, HttpClient, HttpRequest } from './http.js'

/**
 * HTTP in Node over undici (Node's own HTTP client, the one under its fetch), without the fetch
 * layer: one POST at a time over loopback costs ~110 µs of CPU, against ~170 µs over node:http
 * and ~670 µs over fetch. One keep-alive pool per origin for every client in the process;
 * idle pooled connections do not keep the process alive.
 */
const pools = new Map<string, Pool>()
/**
 * Parsed request targets by URL: a client asks for the same few URLs again and again (each
 * session has its own). Emptied when full, so it always holds the sessions of the moment.
 */
const targets = new Map<string, { pool: Pool; path: string }>()
const MAX_TARGETS = 1024

function targetOf(url: string): { pool: Pool; path: string } {
  let target = targets.get(url)
  if (target) return target
  const parsed = new URL(url)
  let pool = pools.get(parsed.origin)
  if (!pool) {
    // No connection limit (a held poll or stream must never queue a POST behind it), no pipelining,
    // and none of undici's own timeouts (300 s for headers, and between body pieces): a poll is
    // held pollTimeoutMs and a stream is quiet for heartbeatMs, both the server's to set, and the
    // client's liveness watch is what decides that a line is dead, on every transport.
    pool = new Pool(parsed.origin, { headersTimeout: 0, bodyTimeout: 0 })
    pools.set(parsed.origin, pool)
  }
  target = { pool, path: `${parsed.pathname}${parsed.search}` }
  if (targets.size >= MAX_TARGETS) targets.clear()
  targets.set(url, target)
  return target
}

/** A connection that failed before any answer: the server's side of a keep-alive timeout, say. */
const RETRIED = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'])

/** The HTTP client in Node: what the client uses there unless given `fetch`. */
export const nodeHttp: HttpClient = (url, request) => send(url, request, true)

async function send(url: string, init: HttpRequest, mayRetry: boolean): Promise<HttpAnswer> {
  const { pool, path } = targetOf(url)
  const { method = 'GET', headers, body, signal } = init
  let response: Dispatcher.ResponseData
  try {
    response = await pool.request({ path, method, headers, body, signal })
  } catch (e) {
    // A pooled connection the server closed just as it was picked (its keep-alive timeout): sent
    // once more on a new connection, as browsers do. Safe for every request here: the server drops
    // frames by seq it already has, and polls and streams carry the ack.
    if (mayRetry && RETRIED.has((e as { code?: string }).code ?? '')) return send(url, init, false)
    throw e
  }
  return answerOf(response)
}

function answerOf(response: Dispatcher.ResponseData): HttpAnswer {
  const stream = response.body
  const read = (onText: (text: string) => void) =>
    new Promise<void>((resolve, reject) => {
      // setEncoding keeps a multi-byte character cut between two reads whole.
      stream.setEncoding('utf8')
      stream.on('data', onText)
      stream.on('end', resolve)
      // A reset or an abort mid-body errors the stream.
      stream.on('error', reject)
    })
  return {
    status: response.statusCode,
    read,
    // undici decodes the whole body once (and rejects on a reset or an abort mid-body).
    text: () => stream.text(),
  }
}
