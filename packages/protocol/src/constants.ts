/** Wire protocol version, sent in negotiate so both ends can refuse a mismatch. */
export const PROTOCOL_VERSION = 1

/** The three transports, best first. */
export const TRANSPORTS = ['websocket', 'sse', 'long-polling'] as const
export type TransportName = (typeof TRANSPORTS)[number]

/** Server pings at this interval; a peer silent for HEARTBEAT_MS * 2 is dead. */
export const HEARTBEAT_MS = 25_000
/** How long a session outlives its last transport, waiting for a reattach. */
export const RECOVERY_MS = 60_000
/** A long poll is answered empty after this long with nothing to send. */
export const POLL_TIMEOUT_MS = 25_000

/** Largest single frame (one publish, call or message), encoded. */
export const MAX_MESSAGE_BYTES = 64 * 1024
/** Largest batch: one WebSocket message or one HTTP body. */
export const MAX_BATCH_BYTES = 1024 * 1024
/** Most frames in one batch. */
export const MAX_BATCH_FRAMES = 512
/**
 * Data JSON of this many UTF-16 units or more is measured when it is encoded, and its frame goes
 * into the replay buffer with its UTF-8 size (ReplayBuffer.append): measuring the frame there
 * would copy it. Shorter data is not: sizing every small frame costs more than the rare batch
 * that measures some.
 */
export const SIZED_DATA_CHARS = 1024

/** Server replay buffer bound (frames not yet acked by the client). */
export const REPLAY_BUFFER_FRAMES = 50_000
export const REPLAY_BUFFER_BYTES = 8 * 1024 * 1024
/** Client outbox bound (frames sent or queued, not yet acked by the server). */
export const OUTBOX_FRAMES = 1_000
export const OUTBOX_BYTES = 4 * 1024 * 1024
/** Client requests waiting for room in the outbox, at most (past it: OUTBOX_FULL), and their size. */
export const QUEUED_REQUESTS = 1_000_000
export const QUEUED_BYTES = 256 * 1024 * 1024

/** A standalone ack goes out this long after the first unacked frame... */
export const ACK_DELAY_MS = 20
/** ...or at once when this many frames are unacked. */
export const ACK_EVERY_FRAMES = 128
/**
 * The same delay on SSE, where a standalone ack costs an HTTP request (a POST): longer, since
 * every POST carries the ack anyway and ACK_EVERY_FRAMES still bounds what the server holds.
 */
export const HTTP_ACK_DELAY_MS = 250

/** HTTP headers that carry session proof on SSE, polls and POSTs (never the URL). */
export const TOKEN_HEADER = 'x-switchboard-token'
export const ACK_HEADER = 'x-switchboard-ack'

/**
 * The server's endpoints: path segments under where its app is mounted (`{base}/negotiate`).
 * Segments, not absolute paths, so `new URL(POLL_PATH, base + '/')` stays under the mount point.
 */
export const NEGOTIATE_PATH = 'negotiate'
export const WEBSOCKET_PATH = 'ws'
export const SSE_PATH = 'sse'
export const POLL_PATH = 'poll'
export const SEND_PATH = 'send'

/** Query keys of those endpoints: the session id on every one but negotiate, and two flags set to `1`. */
export const SESSION_ID_PARAM = 'sid'
/** On the first poll of an attach: answer at once (WELCOME) instead of holding the poll. */
export const ATTACH_PARAM = 'attach'
/** On an SSE request: a probe stream (one PONG, no attach) to test the line before switching to it. */
export const PROBE_PARAM = 'probe'
/**
 * On `POST /send`: the POST's number on its line, 1 and up. One that comes again was sent again
 * by a proxy or the browser after its answer was lost on the way: it is answered from its ack.
 */
export const POST_NUMBER_PARAM = 'n'
/**
 * On the attach of an HTTP line (its SSE stream, its first poll) and on each of its POSTs: the
 * line's number, greater for every newer line of a client. A POST of a line older than the one
 * attached (it reached the server late) is answered with its ack alone: its client has left
 * that line, and frames in the answer would be lost. A poll or a stream of such a line is refused
 * with SUPERSEDED, as is a poll after a WebSocket attached (see docs/transports.md).
 */
export const LINE_PARAM = 'l'
/**
 * On each long poll after a line's first (which is poll 0, `attach=1`): its number, 1 and up,
 * with LINE_PARAM. A client sends poll `p` only once it has read poll `p - 1`'s answer, so the
 * next number goes on after what the line was given (a POST answer on its way may carry frames
 * the poll's ack does not count yet). One that comes again, sent again by a proxy that lost its
 * answer, replays from its ack, as does a poll without a number.
 */
export const POLL_NUMBER_PARAM = 'p'
/**
 * On `GET {base}/ws` with no session id: negotiate in the upgrade. Its value is the client's
 * PROTOCOL_VERSION; TRANSPORTS_PARAM lists the transports it may use (comma-separated, best
 * first). The server creates the session as negotiate would and its first frame, the WELCOME,
 * carries the negotiate answer: a WebSocket client saves the negotiate round trip.
 */
export const NEGOTIATE_PARAM = 'negotiate'
export const TRANSPORTS_PARAM = 'transports'

/** Bytes a line may hold queued (socket buffer, stream queue) before the sender waits for it to drain. */
export const HIGH_WATER_BYTES = 1024 * 1024

/** Longest channel or RPC method name. */
export const MAX_NAME_LENGTH = 256
