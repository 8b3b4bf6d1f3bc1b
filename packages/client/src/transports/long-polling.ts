import { ACK_HEADER, ATTACH_PARAM, LINE_PARAM, POLL_NUMBER_PARAM, POLL_PATH, TOKEN_HEADER } from '@switchboard/protocol'
import { isOk } from '../http/http.js'
import { errorCodeOf } from './http-sender.js'
import { createHttpTransport } from './http-transport.js'
import { endpoint, type TransportFactory, type TransportTraits } from './transport.js'

/**
 * Long polling: one GET held by the server until it has frames (or its poll timeout), then
 * the next; POST up. Every poll carries the client's ack, so the client needs no separate ack
 * frames, and its number on the line (POLL_NUMBER_PARAM), sent only once the poll before it was
 * answered: the server goes on after what the line was given, and replays from the ack a poll
 * that comes again (a proxy lost its answer and asked once more).
 */
/** Every poll and POST carries the ack, and the next poll leaves as soon as one is answered: no ACK frames. */
export const LONG_POLLING_TRAITS: TransportTraits = {
  ack: { frames: 'never', inHeader: true, delayMs: 0 },
  messageSized: false,
  http: true,
  polled: true,
  flushPastChars: Infinity, // as SSE's
}

export const createLongPollingTransport: TransportFactory = (ctx, events) =>
  createHttpTransport('long-polling', LONG_POLLING_TRAITS, ctx, events, async (down) => {
    // Built once, as the POST's: every poll after the first goes to the same URL and its number.
    const attach = endpoint(ctx, POLL_PATH, { [ATTACH_PARAM]: '1', [LINE_PARAM]: String(down.line) })
    const poll = `${endpoint(ctx, POLL_PATH, { [LINE_PARAM]: String(down.line) })}&${POLL_NUMBER_PARAM}=`
    for (let n = 0; !down.done() && !down.paused(); n++) {
      const answer = await ctx.http(n === 0 ? attach : poll + n, {
        headers: { [TOKEN_HEADER]: ctx.token, [ACK_HEADER]: String(ctx.ack.received) },
        // A poll that hangs past the server's poll timeout is caught by the connection's liveness
        // watch (pollTimeoutMs + heartbeatMs without a batch): no timer or combined signal per poll.
        signal: down.signal,
      })
      if (!isOk(answer)) return down.finish(`poll refused: HTTP ${answer.status}`, await errorCodeOf(answer))
      const text = await answer.text()
      if (down.done()) return
      events.onBatch(text)
    }
  })
