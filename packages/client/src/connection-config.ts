import type { ServerDataFrame, TransportName } from '@switchboard/protocol'
import type { BackoffOptions } from './backoff.js'
import type { HttpClient } from './http/http.js'
import type { LogEvent } from './log.js'
import type { TransportMemory } from './remember.js'
import type { WebSocketConstructor } from './transports/transport.js'
import type { UpgradeOptions } from './upgrade.js'

/** What a Connection is made with: connect()'s options, resolved. */
export interface ConnectionConfig {
  baseUrl: string
  transports: readonly TransportName[]
  http: HttpClient
  WebSocket: WebSocketConstructor | undefined
  headers: () => Record<string, string> | Promise<Record<string, string>>
  /**
   * A new session may be negotiated in the WebSocket upgrade itself (no headers to send, which a
   * browser's WebSocket cannot carry): one round trip fewer than negotiate, then attach.
   */
  negotiateInUpgrade: boolean
  attemptTimeoutMs: number
  requestTimeoutMs: number
  reconnect: BackoffOptions | false
  maxOutboxFrames: number
  maxOutboxBytes: number
  maxQueuedRequests?: number
  maxQueuedBytes?: number
  /** Background probing of a better transport while on a worse one, or false. */
  upgrade: UpgradeOptions | false
  /** The transport that last worked per server, or null to always start at the top. */
  memory: TransportMemory | null
  onData(frame: ServerDataFrame): void
  logger: ((event: LogEvent) => void) | undefined
}
