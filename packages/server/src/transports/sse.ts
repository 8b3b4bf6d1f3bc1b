import {
  LINE_PARAM,
  ACK_HEADER,
  HIGH_WATER_BYTES,
  PROBE_ANSWER,
  PROBE_PARAM,
  SESSION_ID_PARAM,
  SSE_PATH,
  SwitchboardError,
  TOKEN_HEADER,
  type ErrorCode,
} from '@switchboard/protocol'
import { EndedSession } from '../ended-session.js'
import { answeringErrors, parseAck, queryNumber, whenGone, type WhenGone } from '../http.js'
import type { ServerTransport, TransportHost, TransportRoutes } from './transport.js'

const encoder = new TextEncoder()

/** Response headers: no caching, no transform, and ask nginx not to buffer (`X-Accel-Buffering`). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store, no-transform',
  'x-accel-buffering': 'no',
}

/**
 * Server-Sent Events downstream: one `data:` event per batch. Upstream frames arrive by POST.
 * The stream opens with a comment so headers flush at once (HTTP/2 proxies hold them otherwise).
 */
export class SseTransport implements ServerTransport {
  readonly name = 'sse'
  readonly body: ReadableStream<Uint8Array>
  #controller!: ReadableStreamDefaultController<Uint8Array>
  #host: TransportHost | null = null
  #closed = false

  constructor(whenGone: WhenGone) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller
          controller.enqueue(encoder.encode(': switchboard\n\n'))
        },
        pull: () => {
          if (this.#host) this.#host.drain(this)
        },
        cancel: () => this.#gone('stream cancelled'),
      },
      { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
    )
    whenGone(() => this.#gone('request aborted'))
  }

  /** The session this stream serves (set right after attach, so drains and closes reach it). */
  bind(host: TransportHost): void {
    this.#host = host
  }

  get writable(): boolean {
    return !this.#closed && (this.#controller.desiredSize ?? 0) > 0
  }

  send(batch: string): boolean {
    if (this.#closed) return false
    this.#controller.enqueue(encoder.encode(`data: ${batch}\n\n`))
    return (this.#controller.desiredSize ?? 0) > 0
  }

  close(_code: ErrorCode): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#controller.close()
    } catch {
      // already errored by a cancel
    }
    this.#host?.detach(this, 'closed by server')
  }

  #gone(reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#host?.detach(this, reason)
  }
}

/** A probe stream stays open at most this long; the client closes it as soon as it read the PONG. */
const PROBE_HOLD_MS = 10_000

/**
 * A probe of the SSE line: a PONG event on a stream that stays open, so a proxy that buffers
 * until the response ends holds the PONG back and the probe fails, as the real stream would.
 */
export function createSseProbe(whenGone: WhenGone, onEnd: () => void = () => {}): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let ended = false
  // The hold running out, the client leaving and a cancel may all come: the probe ends once.
  const finish = () => {
    if (ended) return false
    ended = true
    clearTimeout(timer)
    onEnd()
    return true
  }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`: switchboard\n\ndata: ${PROBE_ANSWER}\n\n`))
      const end = () => {
        if (!finish()) return
        try {
          controller.close()
        } catch {
          // already cancelled
        }
      }
      timer = setTimeout(end, PROBE_HOLD_MS)
      whenGone(end)
    },
    cancel() {
      finish()
    },
  })
}

/** `GET /sse`: the downstream stream of a session, or a probe of the line (`?probe=1`). */
export const SSE_ROUTES: TransportRoutes = {
  name: 'sse',
  traits: { polled: false, postsUpstream: true },
  available: () => true,
  register(app, layer, enabled) {
    app.get(
      `/${SSE_PATH}`,
      answeringErrors(layer.options.logger, async (c) => {
        if (!enabled) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED')
        const sid = c.req.query(SESSION_ID_PARAM)
        const probe = c.req.query(PROBE_PARAM) === '1'
        if (layer.elsewhere(sid)) {
          // A probe is proven where the session is; a stream brings the session here.
          await layer.bringHere(sid, c.req.header(TOKEN_HEADER), probe)
          if (probe) return new Response(createSseProbe(whenGone(c)), { headers: SSE_HEADERS })
        }
        const session = layer.prove(sid, c.req.header(TOKEN_HEADER))
        if (session instanceof EndedSession)
          return new Response(`data: ${session.batchFor(parseAck(c.req.header(ACK_HEADER)))}\n\n`, { headers: SSE_HEADERS })
        if (probe) {
          layer.enterRequest(session)
          return new Response(
            createSseProbe(whenGone(c), () => layer.leaveRequest(session)),
            { headers: SSE_HEADERS },
          )
        }
        const transport = new SseTransport(whenGone(c))
        transport.bind(session)
        session.attach(transport, parseAck(c.req.header(ACK_HEADER)), true, undefined, queryNumber(c.req.query(LINE_PARAM)))
        return new Response(transport.body, { headers: SSE_HEADERS })
      }),
    )
  },
}
