import type { ErrorCode, TransportName } from '@switchboard/protocol'
import { HttpSender } from './http-sender.js'
import type { ClientTransport, TransportContext, TransportEvents } from './transport.js'

/** What a downstream reader gets from the HTTP transport shell. */
export interface Downstream {
  /** Aborted when the transport closes. */
  readonly signal: AbortSignal
  /** True once the transport is closed or finished. */
  done(): boolean
  /** Ends the transport and reports it (once). */
  finish(reason: string, code?: ErrorCode): void
}

/**
 * The shell SSE and long polling share: POSTs up through one HttpSender, a downstream reader
 * of their own, and one way to end (abort everything, report once, never after close()).
 */
export function createHttpTransport(
  name: TransportName,
  ctx: TransportContext,
  events: TransportEvents,
  read: (downstream: Downstream) => Promise<void>,
): ClientTransport {
  const abort = new AbortController()
  const sender = new HttpSender(ctx, events)
  let done = false

  const stop = () => {
    done = true
    abort.abort()
    sender.close()
  }
  const downstream: Downstream = {
    signal: abort.signal,
    done: () => done,
    finish(reason, code) {
      if (done) return
      stop()
      events.onClose(code ? { reason, code } : { reason })
    },
  }

  return {
    name,
    open() {
      read(downstream).catch((e: Error) => downstream.finish(`${name} failed: ${e.message}`))
    },
    send(batch) {
      return sender.send(batch, downstream.finish)
    },
    attach() {
      // HTTP transports attach with their first request; they are never probed.
    },
    close() {
      if (!done) stop()
    },
  }
}
