import { ACK_HEADER, HTTP_ACK_DELAY_MS, LINE_PARAM, PROBE_ANSWER, PROBE_PARAM, SSE_PATH, TOKEN_HEADER } from '@switchboard/protocol'
import { createParser } from 'eventsource-parser'
import { isOk } from '../http/http.js'
import { errorCodeOf } from './http-sender.js'
import { createHttpTransport, type Downstream } from './http-transport.js'
import { endpoint, type TransportContext, type TransportFactory, type TransportTraits } from './transport.js'

/**
 * Server-Sent Events down, POST up. Read with ctx.http + eventsource-parser rather than
 * EventSource, so the token travels in a header and a stalled (buffering) proxy shows up
 * as a missing first event instead of a silent wait.
 */
/**
 * Every POST carries the ack in a header; an ACK-only POST goes only once the ack is overdue
 * (HTTP_ACK_DELAY_MS, longer than on WebSocket since a standalone ack costs a request).
 */
export const SSE_TRAITS: TransportTraits = {
  ack: { frames: 'when-overdue', inHeader: true, delayMs: HTTP_ACK_DELAY_MS },
  messageSized: false,
  http: true,
  polled: false,
  // A POST is one of two in flight: an early, small one would hold back the rest.
  flushPastChars: Infinity,
}

export const createSseTransport: TransportFactory = (ctx, events) =>
  createHttpTransport(
    'sse',
    SSE_TRAITS,
    ctx,
    events,
    async (down) => {
      await readEvents(ctx, down, { [LINE_PARAM]: String(down.line) }, down.signal, (data) => events.onBatch(data))
      down.finish('SSE stream ended')
    },
    async (down) => {
      // The probe stream stays open after its PONG: only a line that does not buffer delivers it in time.
      const probe = new AbortController()
      down.signal.addEventListener('abort', () => probe.abort(), { once: true })
      try {
        await readEvents(ctx, down, { [PROBE_PARAM]: '1' }, probe.signal, (data) => {
          if (data !== PROBE_ANSWER) return
          probe.abort()
          events.onProbe()
        })
      } catch (e) {
        if (!probe.signal.aborted) throw e
      }
    },
  )

/** Reads one event stream until it ends, handing each event's data to `onData`. */
async function readEvents(
  ctx: TransportContext,
  down: Downstream,
  query: Readonly<Record<string, string>> | undefined,
  signal: AbortSignal,
  onData: (data: string) => void,
): Promise<void> {
  const answer = await ctx.http(endpoint(ctx, SSE_PATH, query), {
    headers: { accept: 'text/event-stream', [TOKEN_HEADER]: ctx.token, [ACK_HEADER]: String(ctx.ack.received) },
    signal,
  })
  if (!isOk(answer)) return down.finish(`SSE refused: HTTP ${answer.status}`, await errorCodeOf(answer))
  const parser = createParser({
    onEvent: (event) => {
      if (!down.done()) onData(event.data)
    },
  })
  await answer.read((text) => parser.feed(text))
}
