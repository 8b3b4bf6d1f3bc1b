import type { IncomingMessage } from 'node:http'

const INCOMING = Symbol('incoming')
const URL_KEY = Symbol('url')
const HEADERS = Symbol('headers')
const FULL = Symbol('full')

/** A lazy web object: the Node request it reads, and the full object once one was needed. */
interface Lazy<Full> {
  [INCOMING]: IncomingMessage
  [FULL]: Full | undefined
}

interface UpgradeRequest extends Request, Lazy<Request> {
  [URL_KEY]: string
  [HEADERS]: Headers | undefined
}

type UpgradeHeaders = Headers & Lazy<Headers>

/**
 * The web Request that Hono routes for a WebSocket upgrade, made as it is read: its method and
 * URL are plain fields, its headers answer `get` and `has` from Node's parse, and any other
 * member (`signal`, `clone()`, `text()`, a header's `set`, iteration...) makes the full Request
 * or Headers then and answers from it. Routing an upgrade reads the URL and a header or two; a
 * full Request (URL parse, AbortSignal, Headers) for every upgrade cost a fifth of the server's
 * CPU per connect (0.81x with this, in an A/B of 2,000 connects). Both are what they claim to be
 * (`instanceof` holds) and answer like one (an upgrade has no body), except as the input of
 * `new Request()`, which reads undici's own internals: the README says to pass `clone()` there
 * (`new Headers(headers)` works: it iterates them).
 */
export function upgradeRequest(req: IncomingMessage): Request {
  const request = Object.create((requestPrototype ??= makeRequestPrototype())) as UpgradeRequest
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  request[INCOMING] = req
  request[URL_KEY] = urlOf(scheme, req.headers.host ?? 'localhost', req.url ?? '/')
  request[HEADERS] = undefined
  request[FULL] = undefined
  return request
}

/** A host URL might keep as it is (lower case, no brackets), and its port. */
const HOST = /^([a-z0-9.-]+?)(?::([1-9]\d{0,4}))?$/
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
/** A last label that reads as a number: URL takes the whole name for an IPv4 address then. */
const NUMERIC_LAST = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/
/** A punycode label, which URL decodes to check (and refuses when it is not punycode). */
const PUNYCODE = /(?:^|\.)xn--/
/** A request target URL keeps as it is: nothing it escapes, no dot segment to resolve. */
const PLAIN_TARGET = /^\/[\w\-.~!$&()*+,;=:@%/?]*$/
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/

/**
 * The request's URL as `new URL(...).href` writes it: joined as it is when the URL parser would
 * change nothing, else through it, which throws for a Host no URL can hold (the upgrade is then
 * refused with 400, as @hono/node-server refuses such a request).
 */
function urlOf(scheme: string, host: string, target: string): string {
  const url = `${scheme}://${host}${target}`
  return plainHost(scheme, host) && PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target) ? url : new URL(url).href
}

function plainHost(scheme: string, host: string): boolean {
  const m = HOST.exec(host)
  if (!m) return false
  const [, name, port] = m
  if (port !== undefined && (Number(port) > 65535 || port === (scheme === 'https' ? '443' : '80'))) return false
  return IPV4.test(name!) || !(NUMERIC_LAST.test(name!) || PUNYCODE.test(name!))
}

// Made on first use: the classes are the ones in place then (@hono/node-server replaces the global Request).
let requestPrototype: object | undefined
let headersPrototype: object | undefined

function makeRequestPrototype(): object {
  return forwarding(
    Request.prototype,
    {
      url: {
        get(this: UpgradeRequest) {
          return this[URL_KEY]
        },
      },
      method: { get: () => 'GET' },
      headers: {
        get(this: UpgradeRequest) {
          return (this[HEADERS] ??= upgradeHeaders(this[INCOMING]))
        },
      },
    },
    (r: UpgradeRequest) => (r[FULL] ??= new Request(r[URL_KEY], { method: 'GET', headers: fullHeaders(r.headers as UpgradeHeaders) })),
  )
}

function upgradeHeaders(req: IncomingMessage): Headers {
  const headers = Object.create((headersPrototype ??= makeHeadersPrototype())) as UpgradeHeaders
  headers[INCOMING] = req
  headers[FULL] = undefined
  return headers
}

function makeHeadersPrototype(): object {
  return forwarding(
    Headers.prototype,
    {
      // Until a change (set, append, delete) made the full Headers: then it answers.
      get: {
        value(this: UpgradeHeaders, name: string) {
          return this[FULL] ? this[FULL].get(name) : rawValue(this[INCOMING].rawHeaders, name)
        },
      },
      has: {
        value(this: UpgradeHeaders, name: string) {
          return this[FULL] ? this[FULL].has(name) : rawValue(this[INCOMING].rawHeaders, name) !== null
        },
      },
    },
    fullHeaders,
  )
}

function fullHeaders(h: UpgradeHeaders): Headers {
  if (h[FULL]) return h[FULL]
  const headers = new Headers()
  const raw = h[INCOMING].rawHeaders
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  return (h[FULL] = headers)
}

/** A header's value as Headers.get gives it: every line of that name, joined with ", "; null when none. */
function rawValue(raw: readonly string[], name: string): string | null {
  const wanted = name.toLowerCase()
  let value: string | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!
    if (key.length === wanted.length && key.toLowerCase() === wanted) value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`
  }
  return value
}

/**
 * A prototype under `base` with `own`'s members, where every other member of `base`'s chain
 * answers from the object `full` makes (once, kept by the caller). The whole chain: the global
 * class may be a subclass (@hono/node-server's Request) that adds nothing of its own.
 */
function forwarding<T extends Lazy<object>>(base: object, own: PropertyDescriptorMap, full: (self: T) => object): object {
  const members: PropertyDescriptorMap = { ...own }
  for (let p: object | null = base; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor' || key === Symbol.toStringTag || key in members) continue
      const d = Object.getOwnPropertyDescriptor(p, key)!
      if (d.get)
        members[key] = {
          get(this: T) {
            return Reflect.get(full(this), key)
          },
        }
      else if (typeof d.value === 'function') {
        const method = d.value as (...args: unknown[]) => unknown
        members[key] = {
          value(this: T, ...args: unknown[]) {
            return method.apply(full(this), args)
          },
        }
      }
    }
  }
  return Object.create(base, members) as object
}
