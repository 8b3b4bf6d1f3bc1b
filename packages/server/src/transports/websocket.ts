import {
  encodeBatch,
  encodeFrame,
  ERRORS,
  FrameType,
  NEGOTIATE_PARAM,
  PROBE_ANSWER,
  SESSION_ID_PARAM,
  SwitchboardError,
  TRANSPORTS_PARAM,
  WEBSOCKET_PATH,
  HIGH_WATER_BYTES,
  type CloseFrame,
  type ErrorCode,
  type HelloFrame,
} from '@switchboard/protocol'
import type { Context } from 'hono'
import { Deadlines } from '../deadlines.js'
import { EndedSession } from '../ended-session.js'
import { answeringErrors, errorResponse, originAllowed, toSwitchboardError } from '../http.js'
import { negotiateQuery, type Negotiated } from '../negotiate.js'
import type { Session } from '../session.js'
import type { ServerTransport, SessionLayer, TransportRoutes } from './transport.js'

/** The part of a `ws` WebSocket we use, so `ws` types do not leak into ours. */
export interface RawWebSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: string, cb?: (err?: Error) => void): void
  close(code?: number, reason?: string): void
  terminate(): void
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown
  on(event: 'close', listener: (code: number) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
}

const OPEN = 1
const TRANSPORT = Symbol('switchboard.transport')
type Tagged = RawWebSocket & { [TRANSPORT]: WebSocketTransport }
/** A socket that sends no HELLO within this long (and at most a second more) is closed. */
const HELLO_TIMEOUT_MS = 10_000

/** A `ws` message as bytes: a Buffer (the default), fragments, or an ArrayBuffer. */
function bufferOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[])
  if (typeof data === 'string') return Buffer.from(data)
  return Buffer.from(data as ArrayBuffer)
}

/** What an upgrade request left for its socket: the session it names, or why it is refused. */
export interface WebSocketAdmission {
  readonly sid: string | undefined
  readonly refusal: SwitchboardError | undefined
  /** An upgrade that negotiates (`?negotiate=`): the new session, or why there is none. */
  readonly negotiated?: Promise<Negotiated | SwitchboardError>
}

/**
 * One WebSocket, both directions. The client's first message is HELLO (token, ack, version),
 * so the resume token never appears in a URL; then every message is a batch of frames. An
 * upgrade that negotiates sends no HELLO: the server speaks first, a WELCOME with the answer.
 * It reads `ws` messages as Buffers: only a runtime with a WebSocket server (Node) creates one.
 */
export class WebSocketTransport implements ServerTransport {
  readonly name = 'websocket'
  #ws: RawWebSocket
  #layer: SessionLayer
  #sid: string | undefined
  #session: Session | null = null
  #blocked = false
  #closed = false
  /** The ticket of the wait for a HELLO or a negotiation (see Deadlines), or 0. */
  #waiting = 0
  /** Messages that came while the session was brought from another node: handled once it is here. */
  #early: unknown[] | null = null

  constructor(ws: RawWebSocket, layer: SessionLayer, { sid, refusal, negotiated }: WebSocketAdmission) {
    this.#ws = ws
    this.#layer = layer
    this.#sid = sid
    // Module-level listeners that find their transport through a symbol on the socket, as `ws`
    // does itself: no closures per connection (idle memory per session counts).
    ;(ws as Tagged)[TRANSPORT] = this
    ws.on('message', WebSocketTransport.#socketMessage)
    ws.on('close', WebSocketTransport.#socketClose)
    ws.on('error', WebSocketTransport.#socketError)
    if (refusal) {
      this.#fail(refusal)
      return
    }
    // Bounds the wait for the HELLO, or for a negotiation (an app's authenticate) to finish.
    this.#wait()
    if (negotiated) {
      this.#early = []
      void negotiated.then((outcome) => this.#negotiated(outcome))
    }
  }

  static #socketMessage = function (this: Tagged, data: unknown) {
    this[TRANSPORT].#onMessage(data)
  }
  static #socketClose = function (this: Tagged, code: number) {
    this[TRANSPORT].#onClose(code)
  }
  static #socketError = function (this: Tagged, error: Error) {
    this[TRANSPORT].#onError(error)
  }
  /** Each app's waits for a HELLO or a negotiation: one timer for all its sockets. */
  static #handshakes = new WeakMap<SessionLayer, Deadlines<WebSocketTransport>>()

  #wait(): void {
    let d = WebSocketTransport.#handshakes.get(this.#layer)
    if (!d) WebSocketTransport.#handshakes.set(this.#layer, (d = new Deadlines(HELLO_TIMEOUT_MS, WebSocketTransport.#expire)))
    this.#waiting = d.add(this)
  }

  /** The wait for a HELLO or a negotiation is over (or there was none). */
  #waited(): void {
    if (this.#waiting === 0) return
    WebSocketTransport.#handshakes.get(this.#layer)?.end(this.#waiting)
    this.#waiting = 0
  }

  /** The wait `ticket` ran out: the socket closes, unless that wait ended (or another began). */
  static #expire(transport: WebSocketTransport, ticket: number): void {
    if (ticket !== transport.#waiting) return
    transport.#waiting = 0
    transport.#fail(new SwitchboardError('TIMEOUT', transport.#early === null ? 'No HELLO frame' : 'The session was not ready in time'))
  }

  get writable(): boolean {
    return !this.#blocked && this.#ws.readyState === OPEN
  }

  send(batch: string): boolean {
    const ws = this.#ws
    if (ws.readyState !== OPEN) return false
    if (ws.bufferedAmount + batch.length <= HIGH_WATER_BYTES) {
      ws.send(batch)
      return true
    }
    // Over the high-water mark: this write reports when it is out, and the session waits for it.
    this.#blocked = true
    ws.send(batch, () => this.#onSent())
    return false
  }

  close(code: ErrorCode): void {
    if (this.#closed) return
    this.#closed = true
    this.#waited()
    this.#ws.close(ERRORS[code].close, code)
  }

  /** The write that crossed the high-water mark is out, and nothing was written after it. */
  #onSent(): void {
    if (!this.#blocked) return
    this.#blocked = false
    this.#session?.drain(this)
  }

  #onMessage(data: unknown): void {
    if (this.#early !== null) return void this.#early.push(data)
    const bytes = bufferOf(data)
    const text = bytes.toString('utf8')
    const session = this.#session
    if (session) {
      try {
        this.#layer.receive(session, text, bytes.length, false)
      } catch {
        // The session layer ended the session with the error's code; the socket closes with it.
      }
      return
    }
    this.#hello(text)
  }

  #hello(text: string): void {
    this.#waited()
    let hello: HelloFrame
    try {
      hello = this.#layer.decodeHello(text)
    } catch (e) {
      return this.#fail(toSwitchboardError(e, 'INTERNAL'))
    }
    const sid = this.#sid
    if (!this.#layer.elsewhere(sid)) return this.#helloHere(hello)
    // Another node holds the session: a probe is proven there, a HELLO brings the session here.
    const probe = hello[4] === 1
    this.#early = []
    this.#layer.bringHere(sid, hello[1], probe).then(
      () => {
        if (this.#closed) return
        if (probe && this.#layer.elsewhere(sid)) this.#probed()
        else this.#helloHere(hello)
        const early = this.#early ?? []
        this.#early = null
        for (const data of early) this.#onMessage(data)
      },
      (e: unknown) => {
        this.#early = null
        this.#fail(toSwitchboardError(e, 'INTERNAL'))
      },
    )
  }

  /**
   * The session this upgrade negotiated is made: attach with the answer in the WELCOME. A refusal
   * is a CLOSE frame, as negotiate's error answer: the code, and when to retry as its last element.
   */
  #negotiated(outcome: Negotiated | SwitchboardError): void {
    this.#waited()
    const early = this.#early ?? []
    this.#early = null
    if (outcome instanceof SwitchboardError) {
      if (!this.#closed && this.#ws.readyState === OPEN)
        this.#ws.send(encodeBatch([encodeFrame([FrameType.CLOSE, outcome.code, outcome.message, outcome.retryAfterMs ?? null])]))
      return this.#fail(outcome)
    }
    const { session, answer } = outcome
    // Its client never learned of it: no reason to keep it for recoveryMs.
    if (this.#closed) return this.#layer.endWith(session.id, new SwitchboardError('SESSION_LOST', 'Its socket closed before the WELCOME'))
    this.#sid = session.id
    this.#session = session
    try {
      session.attach(this, 0, true, answer)
    } catch (e) {
      this.#session = null
      return this.#fail(toSwitchboardError(e, 'INTERNAL'))
    }
    for (const data of early) this.#onMessage(data)
  }

  /** A probe: prove the line carries frames both ways, then wait (bounded) for the real HELLO. */
  #probed(): void {
    this.#ws.send(PROBE_ANSWER)
    this.#wait()
  }

  #helloHere(hello: HelloFrame): void {
    try {
      const session = this.#layer.prove(this.#sid, hello[1])
      if (session instanceof EndedSession) {
        this.#ws.send(session.batchFor(hello[2]))
        return this.close((JSON.parse(session.closeFrame) as CloseFrame)[1])
      }
      if (hello[4] === 1) return this.#probed()
      this.#session = session
      session.attach(this, hello[2], true)
    } catch (e) {
      this.#session = null
      this.#fail(toSwitchboardError(e, 'INTERNAL'))
    }
  }

  #fail(error: SwitchboardError): void {
    this.#layer.options.logger?.({ kind: 'transport', message: `websocket refused: ${error.code}`, sessionId: this.#sid })
    this.close(error.code)
  }

  #onClose(code: number): void {
    this.#closed = true
    this.#waited()
    this.#session?.detach(this, `socket closed (${code})`)
  }

  #onError(error: Error): void {
    // ws closes the socket after an error (e.g. maxPayload exceeded: 1009); the close handler detaches.
    this.#layer.options.logger?.({ kind: 'transport', message: `websocket error: ${error.message}`, sessionId: this.#sid })
  }
}

/**
 * `GET /ws`, served by the runtime's WebSocket route. Refusals are told after the upgrade, as a
 * close code the client can read (an HTTP status it cannot); without a WebSocket route, or for a
 * request that is no upgrade, the answer is an HTTP error.
 */
export const WEBSOCKET_ROUTES: TransportRoutes = {
  name: 'websocket',
  traits: { polled: false, postsUpstream: false },
  available: (runtime) => runtime.webSocketRoute !== undefined,
  register(app, layer, enabled, { webSocketRoute: route }, negotiate) {
    const refusalFor = (c: Context): SwitchboardError | undefined => {
      if (!enabled) return new SwitchboardError('TRANSPORT_NOT_ALLOWED')
      if (!originAllowed(c, layer.options.origins)) return new SwitchboardError('ORIGIN_NOT_ALLOWED')
      if (layer.closing) return new SwitchboardError('SERVER_SHUTDOWN')
      return undefined
    }
    if (route)
      app.get(
        `/${WEBSOCKET_PATH}`,
        answeringErrors(
          layer.options.logger,
          route({
            admit: (c) => {
              const sid = c.req.query(SESSION_ID_PARAM)
              const refusal = refusalFor(c)
              const version = sid === undefined && refusal === undefined ? c.req.query(NEGOTIATE_PARAM) : undefined
              if (version === undefined) return { sid, refusal }
              const request = negotiateQuery(version, c.req.query(TRANSPORTS_PARAM))
              // Settled here: an upgrade that never completes leaves no rejection unhandled.
              return { sid, refusal, negotiated: negotiate(c, request).catch((e: unknown) => toSwitchboardError(e, 'INTERNAL')) }
            },
            open: (ws, admission) => void new WebSocketTransport(ws, layer, admission),
            abandon: ({ negotiated }) =>
              void negotiated?.then((outcome) => {
                if (!(outcome instanceof SwitchboardError))
                  layer.endWith(outcome.session.id, new SwitchboardError('SESSION_LOST', 'Its WebSocket upgrade did not complete'))
              }),
          }),
        ),
      )
    const refused = route
      ? new SwitchboardError('BAD_REQUEST', 'Expected a WebSocket upgrade')
      : new SwitchboardError('TRANSPORT_NOT_ALLOWED', 'This server has no WebSocket support')
    app.get(`/${WEBSOCKET_PATH}`, (c) => errorResponse(c, refused))
  },
}
