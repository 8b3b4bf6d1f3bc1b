import { timingSafeEqual } from 'node:crypto'
import { SwitchboardError, type ErrorCode } from '@switchboard/protocol'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** The one place errors become HTTP answers: status from the table, body `{ code, message }`. */
export function errorResponse(c: Context, error: SwitchboardError): Response {
  return c.json(error.toJSON(), error.status as ContentfulStatusCode, { 'cache-control': 'no-store' })
}

/** Anything thrown becomes a SwitchboardError; unknown errors take `fallback` and keep their cause. */
export function toSwitchboardError(e: unknown, fallback: ErrorCode): SwitchboardError {
  return e instanceof SwitchboardError ? e : new SwitchboardError(fallback, undefined, { cause: e })
}

/** Constant-time comparison of a presented token with the session's. */
export function tokensEqual(presented: string | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false
  const a = Buffer.from(presented)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Applies the `origins` option to a request. No Origin header (a non-browser client): allowed. */
export function originAllowed(
  c: Context,
  origins: '*' | readonly string[] | ((origin: string) => boolean) | undefined,
): boolean {
  const origin = c.req.header('origin')
  if (origin === undefined || origins === '*') return true
  if (typeof origins === 'function') return origins(origin)
  if (origins) return origins.includes(origin)
  try {
    // Host only: X-Forwarded-Host is not trusted. Behind a proxy that rewrites Host, list the origins.
    return new URL(origin).host === c.req.header('host')
  } catch {
    return false
  }
}
