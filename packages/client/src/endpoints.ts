import {
  NEGOTIATE_PARAM,
  type NEGOTIATE_PATH,
  type POLL_PATH,
  PROTOCOL_VERSION,
  type SEND_PATH,
  type SSE_PATH,
  TRANSPORTS_PARAM,
  type TransportName,
  WEBSOCKET_PATH,
} from '@switchboard/protocol'

/** The endpoints a Switchboard app serves under its mount. */
export type EndpointName = typeof NEGOTIATE_PATH | typeof WEBSOCKET_PATH | typeof SSE_PATH | typeof POLL_PATH | typeof SEND_PATH

/**
 * The mount URL as the client keeps it: resolved against `base` (the page), without a fragment or
 * trailing slashes on its path, its own query kept (an app may route on `?tenant=x`).
 */
export function mountUrl(url: string, base?: string): string {
  return cached(mounts, base === undefined ? url : `${url} ${base}`, () => {
    const parsed = new URL(url, base)
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}${parsed.search}`
  })
}

/** Mount URLs by what they were made of: clients of one server made in a loop parse it once. */
const mounts = new Map<string, string>()

/**
 * The URL of one endpoint: the mount's path plus `name`, the mount's query parameters, then
 * `query` (which wins over a mount parameter of the same name); `ws` is reached over `ws:`/`wss:`.
 * Built with URL rather than by concatenation, so a mount with a query string or a trailing slash
 * still yields a valid endpoint; the URL is parsed once per mount and endpoint (see baseOf).
 */
export function endpointUrl(mount: string, name: EndpointName, query: Readonly<Record<string, string>> = {}): string {
  const [href, search] = baseOf(mount, name)
  let params: URLSearchParams | undefined
  for (const key in query) (params ??= new URLSearchParams(search)).set(key, query[key]!)
  // Without a query of its own, the mount's is kept as written, as URL would keep it.
  if (params === undefined) return search === '' ? href : `${href}?${search}`
  return `${href}?${params}`
}

/**
 * Each endpoint's URL without a query, and its mount's query (without the `?`), by mount and
 * endpoint: a process that opens 10,000 clients of one server parses its URL once, not once a
 * connect (a URL and its searchParams were 2.3 KB of the 50 KB a connect allocated). Emptied when
 * full, so it holds the mounts of the moment.
 */
const bases = new Map<string, readonly [string, string]>()
const MAX_CACHED = 64

function baseOf(mount: string, name: EndpointName): readonly [string, string] {
  return cached(bases, `${name} ${mount}`, () => {
    const url = new URL(mount)
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${name}`
    if (name === WEBSOCKET_PATH) url.protocol = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol
    url.hash = ''
    const search = url.search.slice(1)
    url.search = ''
    return [url.href, search] as const
  })
}

/**
 * The URL a WebSocket that negotiates a new session opens (see the server's negotiate-in-upgrade),
 * by mount and transports: built once for clients of one server made in a loop, not once a connect.
 */
export function negotiatingSocketUrl(mount: string, transports: readonly TransportName[]): string {
  const list = transports.join(',')
  return cached(negotiating, `${list} ${mount}`, () =>
    endpointUrl(mount, WEBSOCKET_PATH, { [NEGOTIATE_PARAM]: String(PROTOCOL_VERSION), [TRANSPORTS_PARAM]: list }),
  )
}

const negotiating = new Map<string, string>()

/** `make()` kept under `key` in `cache`, which is emptied when full: it holds the mounts of the moment. */
function cached<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let value = cache.get(key)
  if (value !== undefined) return value
  value = make()
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(key, value)
  return value
}
