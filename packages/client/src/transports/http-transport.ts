import type { ErrorCode, TransportName } from '@switchboard/protocol'
import { HttpSender } from './http-sender.js'
import type { ClientTransport, TransportContext, TransportEvents, TransportTraits } from './transport.js'

/** What a downstream reader gets from the HTTP transport shell. */
export interface Downstream {
  /** The line's number (LINE_PARAM), sent on its attach and its POSTs. */
  readonly line: number
  /** Aborted when the transport closes. */
  readonly signal: AbortSignal
  /** True once the transport is closed or finished. */
  done(): boolean
  /** True once another line is taking over: start no new downstream request. */
  paused(): boolean
  /** Ends the transport and reports it (once). */
  finish(reason: string, code?: ErrorCode): void
}

let lastLine = 0
/** Numbers the HTTP lines of this page or process, newer ones greater, across reloads too (the clock). */
function nextLine(): number {
  lastLine = Math.max(lastLine + 1, Date.now())
  return lastLine
}

/**
 * The shell SSE and long polling share: POSTs up through one HttpSender, a downstream reader
 * of their own, and one way to end (abort everything, report once, never after close()).
 */
export function createHttpTransport(
  name: TransportName,
  traits: TransportTraits,
  ctx: TransportContext,
  events: TransportEvents,
  read: (downstream: Downstream) => Promise<void>,
  probe?: (downstream: Downstream) => Promise<void>,
): ClientTransport {
  const abort = new AbortController()
  const line = nextLine()
  const sender = new HttpSender(ctx, events, line)
  let done = false
  let paused = false

  const stop = () => {
    done = true
    abort.abort()
    sender.close()
  }
  const downstream: Downstream = {
    line,
    signal: abort.signal,
    done: () => done,
    paused: () => paused,
    finish(reason, code) {
      if (done) return
      stop()
      events.onClose(code ? { reason, code } : { reason })
    },
  }

  // A request that throws never reached the server (refused, reset, DNS): CONNECT_FAILED says so,
  // and the connection does not try the next HTTP transport against the same unreachable host.
  const start = (run: (d: Downstream) => Promise<void>) =>
    run(downstream).catch((e: Error) => downstream.finish(`${name} failed: ${e.message}`, 'CONNECT_FAILED'))
  let probing = ctx.probe && probe !== undefined

  return {
    name,
    traits,
    open() {
      // A probe proves the line first (reporting onProbe); the real downstream starts on attach().
      start(probing ? probe! : read)
    },
    send(batch) {
      return sender.send(batch, downstream.finish)
    },
    pause() {
      paused = true
    },
    attach() {
      if (!probing || done) return
      probing = false
      start(read)
    },
    close() {
      if (!done) stop()
    },
  }
}
