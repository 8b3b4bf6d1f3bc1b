// The networks of the browser matrix: each a real server started on free loopback ports in front
// of the chat app, and the transport a browser should end up on through it.
import type { TransportName } from '@switchboard/protocol'
import { expect, vi } from 'vitest'
import type { Engine } from '../helpers/browsers.js'
import { startFalseUpgradeProxy } from '../helpers/false-upgrade-proxy.js'
import { startNginx, type NginxMode } from '../helpers/nginx.js'
import { startSquid } from '../helpers/squid.js'

/** The client's default attemptTimeoutMs; the chat page takes no option for it (only ?transport=). */
export const ATTEMPT_TIMEOUT_MS = 5_000

/** A started network. The test puts its cuttable TCP proxy in front of `entryPort`. */
export interface NetworkSetup {
  /** Where the browser's connections go: the page's origin, or (forwardProxy) its HTTP proxy. */
  entryPort: number
  scheme: 'http' | 'https'
  /** True: `entryPort` is the browser's forward proxy and the page is the app's own URL. */
  forwardProxy: boolean
  /** Called as a cell starts; the function it returns asserts what this network saw of that cell's browser. */
  watch?(engine: Engine, appPort: number): () => Promise<void>
  /** Stops every process or server of this network (by PID for nginx and squid). */
  stop(): Promise<void>
}

export interface Network {
  name: string
  /** What the browser goes through, for the report. */
  description: string
  expected: TransportName
  /** Bound on navigation -> joined: a fallback that waits for a timeout must still land in time. */
  maxConnectMs: number
  /**
   * After the cut, keep resetting every new browser connection for this long (default 0: one cut).
   * Needed where the browser would silently re-send the cut request (a held long poll).
   */
  outageMs?: number
  start(appPort: number): Promise<NetworkSetup>
}

const FAST_MS = 4_000
const AFTER_TIMEOUT_MS = ATTEMPT_TIMEOUT_MS + 4_000

function nginxNetwork(name: string, mode: NginxMode, description: string, expected: TransportName, maxConnectMs: number, outageMs = 0): Network {
  return {
    name,
    description,
    expected,
    maxConnectMs,
    outageMs,
    async start(appPort) {
      const nginx = await startNginx(mode, appPort)
      return { entryPort: nginx.port, scheme: mode === 'tls' ? 'https' : 'http', forwardProxy: false, stop: () => nginx.stop() }
    },
  }
}

export const NETWORKS: readonly Network[] = [
  {
    name: 'direct',
    description: 'browser -> app (Node, listen() on port 0)',
    expected: 'websocket',
    maxConnectMs: FAST_MS,
    async start(appPort) {
      return { entryPort: appPort, scheme: 'http', forwardProxy: false, stop: async () => {} }
    },
  },
  nginxNetwork('nginx-websocket', 'websocket', 'nginx reverse proxy with Upgrade/Connection passed (a)', 'websocket', FAST_MS),
  nginxNetwork('nginx-strip-upgrade', 'strip-upgrade', 'nginx reverse proxy that strips Upgrade/Connection (b)', 'sse', FAST_MS),
  nginxNetwork(
    'nginx-buffering',
    'buffering',
    'nginx reverse proxy buffering responses, X-Accel-Buffering ignored (c)',
    'long-polling',
    AFTER_TIMEOUT_MS,
    500,
  ),
  {
    name: 'squid',
    description: "squid as the browser's forward proxy (CONNECT only to 443)",
    expected: 'sse',
    maxConnectMs: FAST_MS,
    async start() {
      const squid = await startSquid()
      return {
        entryPort: squid.port,
        scheme: 'http',
        forwardProxy: true,
        // The WebSocket really went to squid and was refused: Chromium and Firefox tunnel ws:// with
        // CONNECT (denied to a non-443 port), WebKit sends `GET ws://`, which squid 5.7 does not implement.
        watch(engine, appPort) {
          const from = squid.accessLog().length
          const refused =
            engine === 'webkit'
              ? new RegExp(`/501 \\d+ GET ws://127\\.0\\.0\\.1:${appPort}/`)
              : new RegExp(`TCP_DENIED/403 \\d+ CONNECT 127\\.0\\.0\\.1:${appPort} `)
          return () => vi.waitFor(() => expect(squid.accessLog().slice(from)).toMatch(refused), { timeout: 5_000, interval: 100 })
        },
        stop: () => squid.stop(),
      }
    },
  },
  {
    name: 'false-upgrade',
    description: 'reverse proxy answering every WebSocket upgrade with 101, then passing nothing',
    expected: 'sse',
    maxConnectMs: AFTER_TIMEOUT_MS,
    async start(appPort) {
      const proxy = await startFalseUpgradeProxy({ targetPort: appPort })
      return {
        entryPort: proxy.port,
        scheme: 'http',
        forwardProxy: false,
        watch() {
          const before = proxy.upgradesSwallowed
          return async () => expect(proxy.upgradesSwallowed, 'WebSocket upgrades answered 101 and swallowed').toBeGreaterThan(before)
        },
        stop: () => proxy.close(),
      }
    },
  },
  nginxNetwork('nginx-tls', 'tls', 'nginx terminating TLS (HTTP/2 + wss), self-signed certificate', 'websocket', FAST_MS),
]
