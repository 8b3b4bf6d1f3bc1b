import { ACK_HEADER, TOKEN_HEADER } from '@switchboard/protocol'
import { createParser } from 'eventsource-parser'
import { errorCodeOf, HttpSender } from './http-sender.js'
import { endpoint, type ClientTransport, type TransportFactory } from './transport.js'

/**
 * Server-Sent Events down, POST up. Read with fetch + eventsource-parser rather than
 * EventSource, so the token travels in a header and a stalled (buffering) proxy shows up
 * as a missing first event instead of a silent wait.
 */
export const createSseTransport: TransportFactory = (ctx, events) => {
  const abort = new AbortController()
  const sender = new HttpSender(ctx, events)
  let done = false

  const finish = (reason: string, code?: Parameters<typeof events.onClose>[0]['code']) => {
    if (done) return
    done = true
    abort.abort()
    sender.close()
    events.onClose(code ? { reason, code } : { reason })
  }

  const read = async () => {
    const response = await ctx.fetch(endpoint(ctx, 'sse'), {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER]: ctx.token, [ACK_HEADER]: String(ctx.ack()) },
      credentials: ctx.credentials,
      cache: 'no-store',
      signal: abort.signal,
    })
    if (!response.ok || !response.body) {
      finish(`SSE refused: HTTP ${response.status}`, await errorCodeOf(response))
      return
    }
    const parser = createParser({
      onEvent: (event) => {
        if (!done) events.onBatch(event.data)
      },
    })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done: ended } = await reader.read()
      if (ended) break
      parser.feed(value)
    }
    finish('SSE stream ended')
  }

  const transport: ClientTransport = {
    name: 'sse',
    open() {
      read().catch((e: Error) => finish(`SSE failed: ${e.message}`))
    },
    send(batch) {
      return sender.send(batch, finish)
    },
    close() {
      if (done) return
      done = true
      abort.abort()
      sender.close()
    },
  }
  return transport
}
