import { type NEGOTIATE_PATH, type POLL_PATH, type SEND_PATH, type SSE_PATH, WEBSOCKET_PATH } from '@switchboard/protocol'

/** The endpoints a Switchboard app serves under its mount. */
export type EndpointName = typeof NEGOTIATE_PATH | typeof WEBSOCKET_PATH | typeof SSE_PATH | typeof POLL_PATH | typeof SEND_PATH

/**
 * The mount URL as the client keeps it: resolved against `base` (the page), without a fragment or
 * trailing slashes on its path, its own query kept (an app may route on `?tenant=x`).
 */
export function mountUrl(url: string, base?: string): string {
  const mount = new URL(url, base)
  return `${mount.origin}${mount.pathname.replace(/\/+$/, '')}${mount.search}`
}

/**
 * The URL of one endpoint: the mount's path plus `name`, the mount's query parameters, then
 * `query` (which wins over a mount parameter of the same name); `ws` is reached over `ws:`/`wss:`.
 * Built with URL rather than by concatenation, so a mount with a query string or a trailing slash
 * still yields a valid endpoint. Called once per transport, never per message.
 */
export function endpointUrl(mount: string, name: EndpointName, query: Readonly<Record<string, string>> = {}): string {
  const url = new URL(mount)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${name}`
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
  if (name === WEBSOCKET_PATH) url.protocol = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol
  url.hash = ''
  return url.href
}
