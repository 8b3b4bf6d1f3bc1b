import { ACK_HEADER, TOKEN_HEADER } from '@switchboard/protocol'
import { errorCodeOf, HttpSender } from './http-sender.js'
import { endpoint, type ClientTransport, type TransportFactory } from './transport.js'

/** A poll that takes this much longer than the server's poll timeout is presumed dead. */
const POLL_GRACE_MS = 10_000

/**
 * Long polling: one GET held by the server until it has frames (or its poll timeout), then
 * the next; POST up. Every poll carries the client's ack, so an answer lost on the way is
 * simply sent again by the next poll, and the client needs no separate ack frames.
 */
export const createLongPollingTransport: TransportFactory = (ctx, events) => {
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

  const poll = async (first: boolean): Promise<string | null> => {
    const timeout = AbortSignal.timeout(ctx.pollTimeoutMs + POLL_GRACE_MS)
    const response = await ctx.fetch(endpoint(ctx, 'poll', first ? '&attach=1' : ''), {
      headers: { [TOKEN_HEADER]: ctx.token, [ACK_HEADER]: String(ctx.ack()) },
      credentials: ctx.credentials,
      cache: 'no-store',
      signal: AbortSignal.any([abort.signal, timeout]),
    })
    if (!response.ok) {
      finish(`poll refused: HTTP ${response.status}`, await errorCodeOf(response))
      return null
    }
    return response.text()
  }

  const loop = async () => {
    let first = true
    while (!done) {
      const text = await poll(first)
      first = false
      if (text === null || done) return
      events.onBatch(text)
    }
  }

  const transport: ClientTransport = {
    name: 'long-polling',
    open() {
      loop().catch((e: Error) => finish(`poll failed: ${e.message}`))
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
