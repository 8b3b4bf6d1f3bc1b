import type { ErrorCode, HelloFrame, SwitchboardError, TransportName } from '@switchboard/protocol'
import type { Context, Hono } from 'hono'
import type { EndedSession } from '../ended-session.js'
import type { WhenGone } from '../http.js'
import type { Negotiator } from '../negotiate.js'
import type { Runtime } from '../runtime.js'
import type { RegistryOptions } from '../session-registry.js'
import type { Session } from '../session.js'

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

/**
 * What a transport's routes use of the session layer (the session registry). The handshake
 * (proving a session by id and token) and the decoding of client batches happen there, once for
 * every transport; a transport only carries text and attaches to the session it is given.
 */
export interface SessionLayer {
  readonly options: Pick<RegistryOptions, 'logger' | 'origins' | 'pollTimeoutMs' | 'maxBatchBytes'>
  /** UTF-8 size of a string (Node's native Buffer.byteLength where it has one). */
  readonly byteLength: (s: string) => number
  /** New sessions and attaches are refused: the server is shutting down. */
  readonly closing: boolean
  /**
   * The handshake: the session `sid`, proven by `token`, or, if it ended recently, what it still
   * owes its client. Throws UNKNOWN_SESSION or INVALID_TOKEN.
   */
  prove(sid: string | undefined, token: string | undefined): Session | EndedSession
  /** Session `sid` is not on this node, and another node may hold it (a cluster with no sticky balancer). */
  elsewhere(sid: string | undefined): sid is string
  /**
   * Answers a short request (a POST, a poll) of session `sid` through the node that holds it.
   * Undefined when the session is here after all, or held nowhere: the route answers it here.
   */
  forward(c: Context, sid: string, body: string | null): Promise<Response | undefined>
  /**
   * Makes session `sid` usable by a long-lived line that landed here: moves it here from the node
   * holding it, or for a `probe` only proves the token there. Rejects with the session's error.
   */
  bringHere(sid: string, token: string | undefined, probe: boolean): Promise<void>
  /** Decodes the first message of a bidirectional line: HELLO, of our protocol version. */
  decodeHello(text: string): HelloFrame
  /**
   * Decodes a client batch of `bytes` (UTF-8) within the limits and hands it to the session;
   * a POST is answered once the promise returned, if any, resolves (its frames wait for a gap).
   */
  receive(session: Session, text: string, bytes: number, inlineAck: boolean): Promise<void> | undefined
  /** Ends the live session `sid`, if any, with `error` (a request broke a limit before it was proven). */
  endWith(sid: string | undefined, error: SwitchboardError): void
  /** A poll of the ended session `sid` is answered with `batch` (a drain waits for it to be written). */
  endedPollAnswered(sid: string, batch: string, whenAnswered: WhenGone): void
  /**
   * Counts a request of `session` in flight besides its line (a POST, an SSE probe); throws
   * RATE_LIMITED past maxRequestsPerSession. Each that entered leaves once, with leaveRequest.
   */
  enterRequest(session: Session): void
  leaveRequest(session: Session): void
}

/** What the session needs to know of a transport, declared by its module. */
export interface TransportTraits {
  /**
   * One batch per request, and the client comes back with the next (long polling): the poll is
   * the heartbeat, and a client between polls is still there.
   */
  polled: boolean
  /** Upstream frames come by `POST /send`, whose answers carry frames too. */
  postsUpstream: boolean
}

/** A transport's server side: its traits and the routes it serves, relative to where the app is mounted. */
export interface TransportRoutes {
  readonly name: TransportName
  readonly traits: TransportTraits
  /** The runtime can serve it (WebSocket needs a runtime with a WebSocket server). */
  available(runtime: Runtime): boolean
  /**
   * Adds the routes to `app`. When not `enabled`, they answer TRANSPORT_NOT_ALLOWED. A line that
   * can answer before the client speaks (WebSocket) may create its session with `negotiate`.
   */
  register(app: Hono, layer: SessionLayer, enabled: boolean, runtime: Runtime, negotiate: Negotiator): void
}
