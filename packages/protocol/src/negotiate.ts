import type { TransportName } from './constants.js'

/** The body of `POST {base}/negotiate`'s answer: everything a client needs to attach a transport. */
export interface NegotiateResponse {
  version: number
  sessionId: string
  /** Proves the session on every later request: sent in a header or the WebSocket HELLO, never a URL. */
  resumeToken: string
  /** Transports the client may use, in its preference order. */
  transports: TransportName[]
  heartbeatMs: number
  recoveryMs: number
  pollTimeoutMs: number
  maxMessageBytes: number
  maxBatchBytes: number
  maxBatchFrames: number
}
