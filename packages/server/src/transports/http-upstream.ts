import { ACK_HEADER, LINE_PARAM, POST_NUMBER_PARAM, SEND_PATH, SESSION_ID_PARAM, SwitchboardError, TOKEN_HEADER } from '@switchboard/protocol'
import type { Hono } from 'hono'
import { EndedSession } from '../ended-session.js'
import { answeringErrors, limitBody, parseAck, queryNumber } from '../http.js'
import { POLL_HEADERS } from './long-polling.js'
import type { SessionLayer } from './transport.js'

/**
 * `POST /send`: the upstream of every transport whose downstream is plain HTTP (SSE, long
 * polling). A batch of client frames, with the client's ack in a header; the answer carries the
 * ack of the batch and the frames waiting to go out.
 */
export function registerHttpUpstream(app: Hono, layer: SessionLayer): void {
  const { maxBatchBytes, logger } = layer.options
  const sendLimit = answeringErrors(
    logger,
    limitBody(maxBatchBytes, (c) => {
      const error = new SwitchboardError('BATCH_TOO_LARGE', `A batch exceeds ${maxBatchBytes} bytes`)
      layer.endWith(c.req.query(SESSION_ID_PARAM), error)
      throw error
    }),
  )
  const proveSession = answeringErrors(logger, async (c, next) => {
    const sid = c.req.query(SESSION_ID_PARAM)
    // Another node's session: the body is read within its limit, then forwarded.
    if (layer.elsewhere(sid)) return next()
    // Frames that arrive after the end are not processed: the answer says which ones were.
    const session = layer.prove(sid, c.req.header(TOKEN_HEADER))
    if (session instanceof EndedSession) return new Response(session.ackBatch(), { headers: POLL_HEADERS })
    await next()
  })
  app.post(
    `/${SEND_PATH}`,
    proveSession,
    sendLimit,
    answeringErrors(logger, async (c) => {
      const sid = c.req.query(SESSION_ID_PARAM)
      if (layer.elsewhere(sid)) {
        const answer = await layer.forward(c, sid, await c.req.text())
        if (answer) return answer
      }
      const session = layer.prove(sid, c.req.header(TOKEN_HEADER))
      if (session instanceof EndedSession) throw new SwitchboardError('UNKNOWN_SESSION')
      // Bodies are read concurrently: a client that opens many POSTs at once must not hold many.
      layer.enterRequest(session)
      let text: string
      try {
        text = await c.req.text()
      } finally {
        layer.leaveRequest(session)
      }
      const ack = c.req.header(ACK_HEADER)
      const clientAck = ack === undefined ? undefined : parseAck(ack)
      if (clientAck !== undefined) session.acked(clientAck)
      // Frames that overtook the POST before them: answered when it comes (see receiveFrames).
      const gap = layer.receive(session, text, layer.byteLength(text), true)
      if (gap) await gap
      // A Response with plain-object headers: @hono/node-server writes it without building a web
      // Headers object (c.body() builds one per answer: a tenth of the CPU of an SSE round trip).
      // Numbered by the client (old ones send no numbers): a POST answered before is a resend, and
      // one of an older line than the one attached is late.
      const n = clientAck === undefined ? 0 : queryNumber(c.req.query(POST_NUMBER_PARAM))
      return new Response(session.postAnswer(n, clientAck, queryNumber(c.req.query(LINE_PARAM))), { headers: POLL_HEADERS })
    }),
  )
}
