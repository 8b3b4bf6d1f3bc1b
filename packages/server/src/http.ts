import { ACK_HEADER, SwitchboardError, type ErrorCode } from '@switchboard/protocol'
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from './log.js'

/**
 * The one place errors become HTTP answers: status from the table, body `{ code, message }`, and
 * for a refusal that may pass later `retryAfterMs` in the body (which a cross-origin client can
 * read) and `Retry-After` in seconds (which proxies and other clients understand).
 */
export function errorResponse(c: Context, error: SwitchboardError): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)))
  return c.json(error.toJSON(), error.status as ContentfulStatusCode, headers)
}

/**
 * `handler`, answering what it throws with the protocol's error answer (errorResponse); a fault
 * that is no SwitchboardError is logged as an internal error, unless the client went away. Every
 * Switchboard handler and middleware is wrapped in it, and the app has no `onError`: Hono wraps
 * each handler of an app mounted with `app.route()` that has an error handler of its own in a
 * composition made anew for every request (2.8 KB of the 28 KB a WebSocket connect allocated on
 * the server, and about 3% of its CPU per connect in connect-ab).
 */
export function answeringErrors(logger: Logger | undefined, handler: MiddlewareHandler): MiddlewareHandler {
  return async (c, next) => {
    try {
      return await handler(c, next)
    } catch (e) {
      const error = toSwitchboardError(e, 'INTERNAL')
      if (error.code === 'INTERNAL')
        logger?.({ kind: 'http', message: clientGone(c, e) ? 'client went away mid-request' : 'internal error', data: e })
      if (e instanceof Error) c.error = e
      return errorResponse(c, error)
    }
  }
}

/** Anything thrown becomes a SwitchboardError; unknown errors take `fallback` and keep their cause. */
export function toSwitchboardError(e: unknown, fallback: ErrorCode): SwitchboardError {
  return e instanceof SwitchboardError ? e : new SwitchboardError(fallback, undefined, { cause: e })
}

/**
 * Compares a presented token with the session's in time that depends on the length only, never on
 * where they differ (what node:crypto's timingSafeEqual does, in any runtime). Over UTF-16 code
 * units: nothing to allocate on every request, and equal strings are equal code units.
 */
export function tokensEqual(presented: string | undefined, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length !== expected.length) return false
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= presented.charCodeAt(i) ^ expected.charCodeAt(i)
  return difference === 0
}

/** Applies the `origins` option to a request. No Origin header (a non-browser client): allowed. */
export function originAllowed(c: Context, origins: '*' | readonly string[] | ((origin: string) => boolean) | undefined): boolean {
  const origin = c.req.header('origin')
  if (origin === undefined || origins === '*') return true
  if (typeof origins === 'function') return origins(origin)
  if (origins) return origins.includes(origin)
  try {
    // Same origin: scheme, host and port. The scheme is the one a TLS-ending proxy states in
    // X-Forwarded-Proto (a cross-site page cannot add that header without a preflight this server
    // does not grant), else the request's. Host is not taken from X-Forwarded-Host: behind a
    // proxy that rewrites Host, list the origins.
    const url = new URL(c.req.url)
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase()
    if (proto === 'http' || proto === 'https') url.protocol = `${proto}:`
    return new URL(origin).origin === url.origin && !rebound(c, url.hostname)
  } catch {
    return false
  }
}

const LOOPBACK_NAME = /^(localhost|.*\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i
const LOOPBACK_ADDRESS = /^(127\.|::1$|::ffff:127\.)/

/**
 * DNS rebinding: a page at `http://evil.example:PORT`, its name pointed at 127.0.0.1, is same-origin
 * with itself. A request that arrived on a loopback address under a name that is not a loopback
 * name is one of those. The address comes from the Node socket when there is one (duck-typed, so
 * the core imports nothing of Node); elsewhere the check is left to the platform.
 */
function rebound(c: Context, hostname: string): boolean {
  const local = (c.env as { incoming?: { socket?: { localAddress?: string } } } | undefined)?.incoming?.socket?.localAddress
  return local !== undefined && LOOPBACK_ADDRESS.test(local) && !LOOPBACK_NAME.test(hostname)
}

/**
 * True when `e` is the client going away mid-request (an upload cut short, say), not a fault of
 * ours: the request was aborted, or reading it failed with a reset. Duck-typed on the Node
 * request when there is one, so the core imports nothing of Node.
 */
export function clientGone(c: Context, e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  if (code === 'ECONNRESET' || code === 'ECONNABORTED' || (e as Error | null)?.name === 'AbortError') return true
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming
  if (!incoming) return c.req.raw.signal.aborted
  // A request whose body was read whole is destroyed too (Node's autoDestroy): that alone is no sign.
  return (incoming.destroyed === true && incoming.complete === false) || incoming.socket?.destroyed === true
}

/** The part of Node's IncomingMessage clientGone reads. */
interface NodeIncoming {
  destroyed?: boolean
  complete?: boolean
  socket?: { destroyed?: boolean } | null
}

/** Registers a listener for the client going away (the request aborted or the connection closed). */
export type WhenGone = (listener: () => void) => void

/** The part of Node's ServerResponse used here, so the core imports nothing from Node. */
interface NodeResponse {
  once(event: 'close', listener: () => void): unknown
}

/**
 * How a request learns that its client went away: the Node response's 'close' under
 * @hono/node-server, which builds no web AbortSignal per request, else the request's signal.
 */
export function whenGone(c: Context): WhenGone {
  const outgoing = nodeResponse(c)
  if (outgoing) return (listener) => void outgoing.once('close', listener)
  const signal = c.req.raw.signal
  return (listener) => signal.addEventListener('abort', listener, { once: true })
}

/**
 * Registers a listener for the answer being written out (or the client going away): the Node
 * response's 'close'. Elsewhere nothing tells, and the listener runs at once.
 */
export function whenAnswered(c: Context): WhenGone {
  const outgoing = nodeResponse(c)
  if (outgoing) return (listener) => void outgoing.once('close', listener)
  return (listener) => listener()
}

/** The Node response under @hono/node-server, if there is one. */
function nodeResponse(c: Context): NodeResponse | undefined {
  const outgoing = (c.env as { outgoing?: NodeResponse } | undefined)?.outgoing
  return outgoing && typeof outgoing.once === 'function' ? outgoing : undefined
}

/**
 * Refuses a body over `maxSize` bytes with `onTooLarge`. A body with a Content-Length is judged by
 * the header alone: Hono's bodyLimit reads `raw.body`, which makes @hono/node-server build a full
 * web Request (headers, AbortController, stream) for every POST. Chunked bodies go to bodyLimit.
 */
export function limitBody(maxSize: number, onTooLarge: (c: Context) => never): MiddlewareHandler {
  const chunked = bodyLimit({ maxSize, onError: onTooLarge })
  return async (c, next) => {
    const length = c.req.header('content-length')
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return chunked(c, next)
    if (!/^\d+$/.test(length) || Number(length) > maxSize) onTooLarge(c)
    await next()
  }
}

/** The client's ack, from the `ACK_HEADER` of a poll, stream or POST; absent means 0. */
/** A number the client puts in a query (LINE_PARAM, POST_NUMBER_PARAM): 0 when absent or not one. */
export function queryNumber(value: string | undefined): number {
  const n = Number(value)
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

export function parseAck(value: string | undefined): number {
  const ack = Number(value ?? '0')
  if (!Number.isSafeInteger(ack) || ack < 0) throw new SwitchboardError('BAD_REQUEST', `Bad ${ACK_HEADER} header`)
  return ack
}
