import type { ErrorCode, TransportName } from '@switchboard/protocol'

/**
 * A downstream line to one client. It moves encoded batches and knows nothing of channels,
 * seqs or acks; the session owns those. Upstream frames reach the session directly
 * (WebSocket messages, or the POST route for the HTTP transports).
 */
export interface ServerTransport {
  readonly name: TransportName
  /** False while a batch cannot be written: over the high-water mark, or no poll is waiting. */
  readonly writable: boolean
  /** Writes one batch. Returns false when over the high-water mark: the session waits for `drain`. */
  send(batch: string): boolean
  /** Ends the line; `code` tells the client why when the line can still carry it. */
  close(code: ErrorCode): void
}

/** What a transport reports back to its session. */
export interface TransportHost {
  /** The line can take more batches. */
  drain(transport: ServerTransport): void
  /** The line is gone; `clientLeft`: the client abandoned it (aborted its request, closed its socket). */
  detach(transport: ServerTransport, reason: string, clientLeft?: boolean): void
}
