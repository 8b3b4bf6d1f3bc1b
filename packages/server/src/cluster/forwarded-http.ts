import { ACK_HEADER, TOKEN_HEADER } from '@switchboard/protocol'
import type { Context } from 'hono'

/** A short HTTP request of a session (a POST of frames, a poll), carried to the node that holds the session. */
export interface ForwardedRequest {
  method: string
  /** Path relative to where the app is mounted, and query string: `send?sid=…`. */
  target: string
  headers: Record<string, string>
  body: string | null
  /** How many nodes passed it on before: a request is passed on at most MAX_HOPS times. */
  hops: number
}

/** The owner's answer, as the first node gives it to the client. */
export interface ForwardedResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** At most this many nodes pass one request on (the second only while a session moves). */
export const MAX_HOPS = 2

/** What the Hono `env` of a forwarded request carries: how many hops it made (origin was checked by the first node). */
export interface ForwardedEnv {
  switchboardHops: number
}

/** Request headers the owner needs: the session's proof and ack, and what the routes check. */
const FORWARDED_REQUEST_HEADERS = [TOKEN_HEADER, ACK_HEADER, 'content-type', 'origin', 'x-forwarded-proto']
/** Answer headers worth carrying back (the body and status carry the rest). */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'retry-after']

/** The hops a request already made: 0 for one that came from a client. */
export function hopsOf(c: Context): number {
  return (c.env as Partial<ForwardedEnv> | undefined)?.switchboardHops ?? 0
}

/** Describes the request `c` for the owner. `target` is the path after the mount point, with the query. */
export function describeRequest(c: Context, target: string, body: string | null): ForwardedRequest {
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = c.req.header(name)
    if (value !== undefined) headers[name] = value
  }
  return { method: c.req.method, target, headers, body, hops: hopsOf(c) + 1 }
}

/** Runs a forwarded request through this node's app and describes its answer. */
export async function answerForwarded(
  request: ForwardedRequest,
  fetch: (request: Request, env: ForwardedEnv) => Response | Promise<Response>,
): Promise<ForwardedResponse> {
  const init: RequestInit = { method: request.method, headers: request.headers }
  if (request.body !== null) init.body = request.body
  const response = await fetch(new Request(`http://switchboard.node/${request.target}`, init), { switchboardHops: request.hops })
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = response.headers.get(name)
    if (value !== null) headers[name] = value
  }
  return { status: response.status, headers, body: await response.text() }
}

/** The target of request `c` relative to the app's mount point: its last path segment and query. */
export function targetOf(c: Context): string {
  const url = new URL(c.req.url)
  return `${url.pathname.slice(url.pathname.lastIndexOf('/') + 1)}${url.search}`
}
