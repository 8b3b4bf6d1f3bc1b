import type { IncomingMessage } from 'node:http'

const INCOMING = Symbol('incoming')
const URL_KEY = Symbol('url')
const HEADERS = Symbol('headers')
const FULL = Symbol('full')

interface UpgradeRequest extends Request {
  [INCOMING]: IncomingMessage
  [URL_KEY]: string
  [HEADERS]: Headers | undefined
  [FULL]: Request | undefined
}

/**
 * The web Request that Hono routes for a WebSocket upgrade, made as it is read: its method and
 * URL are plain fields, its Headers are built on first read, and any other member (`signal`,
 * `clone()`, `text()`...) builds the full Request then and answers from it. Routing an upgrade
 * reads the URL and a header or two; a full Request (URL parse, AbortSignal, Headers) for every
 * upgrade cost a fifth of the server's CPU per connect (0.81x with this, in an A/B of 2,000
 * connects). It is still a Request (`instanceof` holds) and answers like one (an upgrade has no
 * body), except as the input of `new Request()`, which needs undici's own internals: the README
 * says to pass `clone()` there.
 */
export function upgradeRequest(req: IncomingMessage): Request {
  const request = Object.create(prototype()) as UpgradeRequest
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  request[INCOMING] = req
  request[URL_KEY] = `${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`
  request[HEADERS] = undefined
  request[FULL] = undefined
  return request
}

let proto: object | undefined

/** Made on first use: the Request class is the one in place then (@hono/node-server replaces the global one). */
function prototype(): object {
  if (proto) return proto
  const base = Request.prototype
  const own: PropertyDescriptorMap = {
    url: {
      get(this: UpgradeRequest) {
        return this[URL_KEY]
      },
    },
    method: { get: () => 'GET' },
    headers: {
      get(this: UpgradeRequest) {
        return (this[HEADERS] ??= headersOf(this[INCOMING]))
      },
    },
  }
  // Up the chain: the global Request may be a subclass (@hono/node-server's) that adds nothing of its own.
  for (let p: object | null = base; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor' || key === Symbol.toStringTag || key in own) continue
      const d = Object.getOwnPropertyDescriptor(p, key)!
      if (d.get)
        own[key] = {
          get(this: UpgradeRequest) {
            return Reflect.get(full(this), key)
          },
        }
      else if (typeof d.value === 'function') {
        const method = d.value as (...args: unknown[]) => unknown
        own[key] = {
          value(this: UpgradeRequest, ...args: unknown[]) {
            return method.apply(full(this), args)
          },
        }
      }
    }
  }
  proto = Object.create(base, own) as object
  return proto
}

function full(request: UpgradeRequest): Request {
  return (request[FULL] ??= new Request(request[URL_KEY], { method: 'GET', headers: request.headers }))
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers()
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  return headers
}
