import {
  ACK_HEADER,
  ATTACH_PARAM,
  LINE_PARAM,
  POLL_NUMBER_PARAM,
  POLL_PATH,
  SESSION_ID_PARAM,
  SwitchboardError,
  TOKEN_HEADER,
  type ErrorCode,
} from '@switchboard/protocol'
import type { Context } from 'hono'
import { EndedSession } from '../ended-session.js'
import { answeringErrors, parseAck, queryNumber, whenAnswered, whenGone, type WhenGone } from '../http.js'
import type { ServerTransport, SessionLayer, TransportHost, TransportRoutes } from './transport.js'

export const POLL_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-cache, no-store, no-transform',
}

/**
 * One long poll: writable until it carries one batch, then done. Held at most `timeoutMs`
 * (answered `[]`), closed early if the client goes away or a newer attach supersedes it.
 * Each poll carries the client's ack and its number on the line (see Session.attach): the next
 * one goes on after what the line was given, any other replays from the ack.
 */
export class LongPollTransport implements ServerTransport {
  readonly name = 'long-polling'
  readonly response: Promise<string>
  #resolve!: (batch: string) => void
  #host: TransportHost | null = null
  #done = false
  #timer: ReturnType<typeof setTimeout>

  constructor(timeoutMs: number, whenGone: WhenGone) {
    this.response = new Promise((resolve) => (this.#resolve = resolve))
    this.#timer = setTimeout(() => this.#finish('[]', 'poll timeout'), timeoutMs)
    whenGone(() => this.#finish('[]', 'request aborted', true))
  }

  bind(host: TransportHost): void {
    this.#host = host
  }

  get writable(): boolean {
    return !this.#done
  }

  send(batch: string): boolean {
    this.#finish(batch, 'answered')
    return false
  }

  close(_code: ErrorCode): void {
    this.#finish('[]', 'closed by server')
  }

  #finish(batch: string, reason: string, clientLeft = false): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    this.#resolve(batch)
    this.#host?.detach(this, reason, clientLeft)
  }
}

/** A poll of an ended session: a drain waits until an answer that tells the client of the end is written. */
function answerEndedPoll(c: Context, layer: SessionLayer, sid: string, batch: string): Response {
  layer.endedPollAnswered(sid, batch, whenAnswered(c))
  return new Response(batch, { headers: POLL_HEADERS })
}

/** `GET /poll`: one long poll of a session (`?attach=1` for the first of an attach). */
export const LONG_POLLING_ROUTES: TransportRoutes = {
  name: 'long-polling',
  traits: { polled: true, postsUpstream: true },
  available: () => true,
  register(app, layer, enabled) {
    app.get(
      `/${POLL_PATH}`,
      answeringErrors(layer.options.logger, async (c) => {
        if (!enabled) throw new SwitchboardError('TRANSPORT_NOT_ALLOWED')
        const sid = c.req.query(SESSION_ID_PARAM)
        if (layer.elsewhere(sid)) {
          const answer = await layer.forward(c, sid, null)
          if (answer) return answer
        }
        const session = layer.prove(sid, c.req.header(TOKEN_HEADER))
        if (session instanceof EndedSession) return answerEndedPoll(c, layer, sid!, session.batchFor(parseAck(c.req.header(ACK_HEADER))))
        const first = c.req.query(ATTACH_PARAM) === '1'
        // The first poll of an attach answers at once (WELCOME), later ones wait for data.
        const transport = new LongPollTransport(first ? 0 : layer.options.pollTimeoutMs, whenGone(c))
        transport.bind(session)
        const line = queryNumber(c.req.query(LINE_PARAM))
        try {
          session.attach(
            transport,
            parseAck(c.req.header(ACK_HEADER)),
            first,
            undefined,
            line,
            first ? 0 : queryNumber(c.req.query(POLL_NUMBER_PARAM)),
          )
        } catch (e) {
          transport.close('SUPERSEDED') // refused (a line the client left, say): its timer goes
          throw e
        }
        const batch = await transport.response
        // The session may have ended while this poll was held, and written its CLOSE to it.
        return session.ended ? answerEndedPoll(c, layer, session.id, batch) : new Response(batch, { headers: POLL_HEADERS })
      }),
    )
  },
}
