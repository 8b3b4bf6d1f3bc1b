import { ACK_HEADER, TOKEN_HEADER } from '@switchboard/protocol'
import { createParser } from 'eventsource-parser'
import { errorCodeOf } from './http-sender.js'
import { createHttpTransport } from './http-transport.js'
import { endpoint, type TransportFactory } from './transport.js'

/**
 * Server-Sent Events down, POST up. Read with fetch + eventsource-parser rather than
 * EventSource, so the token travels in a header and a stalled (buffering) proxy shows up
 * as a missing first event instead of a silent wait.
 */
export const createSseTransport: TransportFactory = (ctx, events) =>
  createHttpTransport('sse', ctx, events, async (down) => {
    const response = await ctx.fetch(endpoint(ctx, 'sse'), {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER]: ctx.token, [ACK_HEADER]: String(ctx.ack()) },
      credentials: ctx.credentials,
      cache: 'no-store',
      signal: down.signal,
    })
    if (!response.ok || !response.body) return down.finish(`SSE refused: HTTP ${response.status}`, await errorCodeOf(response))
    const parser = createParser({
      onEvent: (event) => {
        if (!down.done()) events.onBatch(event.data)
      },
    })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      parser.feed(value)
    }
    down.finish('SSE stream ended')
  })
