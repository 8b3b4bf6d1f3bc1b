import { ACK_HEADER, LINE_PARAM, POST_NUMBER_PARAM, isErrorCode, SEND_PATH, TOKEN_HEADER, type ErrorCode } from '@switchboard/protocol'
import { isOk, type HttpAnswer } from '../http/http.js'
import { endpoint, type TransportContext, type TransportEvents } from './transport.js'

/** Reads `{ code }` from an error answer, if the server sent one. */
export async function errorCodeOf(answer: HttpAnswer): Promise<ErrorCode | undefined> {
  try {
    const body = JSON.parse(await answer.text()) as { code?: unknown }
    return isErrorCode(body?.code) ? body.code : undefined
  } catch {
    return undefined // not ours: a proxy's error page, say
  }
}

/** POSTs of one transport in flight at most: the next batch leaves while the server works on one. */
export const POSTS_IN_FLIGHT = 2

/**
 * Upstream for the HTTP transports: POSTs of batches in seq order, at most POSTS_IN_FLIGHT at
 * once, so the client's work on one answer overlaps the server's on the next batch (on two
 * connections, one may overtake the other: the server holds frames that come ahead of a gap
 * until it fills). Each answer carries the server's ack and goes to the session like any batch.
 * A failed POST ends the transport, and so does one unanswered for requestTimeoutMs (a proxy
 * that reads it and never answers would otherwise hold every later send forever): the session
 * resends everything unacked on the next attach, and the server drops what it already processed.
 */
export class HttpSender {
  #ctx: TransportContext
  #events: TransportEvents
  /** Where every POST goes, but for its number: built once. */
  #url: string
  /** POSTs sent on this line: each carries its number, so a resend of it is told apart. */
  #posts = 0
  #inFlight = 0
  #abort = new AbortController()
  #closed = false
  /** Each POST's answer deadline, cleared with it or on close. */
  #timers = new Set<ReturnType<typeof setTimeout>>()

  constructor(ctx: TransportContext, events: TransportEvents, line: number) {
    this.#ctx = ctx
    this.#events = events
    this.#url = `${endpoint(ctx, SEND_PATH, { [LINE_PARAM]: String(line) })}&${POST_NUMBER_PARAM}=`
  }

  /** Sends `batch`; false once POSTS_IN_FLIGHT are in flight (onDrain says when one is back). */
  send(batch: string, onFail: (reason: string, code?: ErrorCode) => void): boolean {
    if (this.#inFlight >= POSTS_IN_FLIGHT || this.#closed) return false
    this.#inFlight++
    // One timer per POST (a batch, not a message); the POST's own abort ends it either way.
    const timeoutMs = this.#ctx.requestTimeoutMs
    const timer = setTimeout(() => {
      if (this.#closed) return
      this.close()
      onFail(`POST unanswered for ${timeoutMs} ms`, 'TIMEOUT')
    }, timeoutMs)
    this.#timers.add(timer)
    this.#post(batch)
      .then(
        (text) => {
          if (!this.#done(timer)) return
          this.#events.onBatch(text)
          // Right after the answer's frames, before any reply's callback (those wait for microtasks):
          // the room its ack made in the outbox goes out in the next POST at once.
          if (!this.#closed) this.#events.onDrain()
        },
        (e: { code?: ErrorCode; message?: string }) => {
          if (this.#done(timer)) onFail(`POST failed: ${e?.message ?? e}`, e?.code)
        },
      )
      // Taking the answer must not throw; if it does, the line ends (the session reattaches from its
      // ack) instead of a rejection nobody handles.
      .catch((e: Error) => onFail(`POST answer not taken: ${e?.message ?? e}`))
    return this.#inFlight < POSTS_IN_FLIGHT
  }

  /** POSTs `batch`; resolves with its answer's text. */
  async #post(batch: string): Promise<string> {
    const answer = await this.#ctx.http(this.#url + ++this.#posts, {
      method: 'POST',
      // The ack rides along: on long polling, replies come back in POST answers and the server
      // would otherwise hear of their delivery only at the next poll.
      headers: { 'content-type': 'text/plain;charset=UTF-8', [TOKEN_HEADER]: this.#ctx.token, [ACK_HEADER]: String(this.#ctx.ack.received) },
      body: batch,
      signal: this.#abort.signal,
    })
    if (!isOk(answer)) {
      const code = await errorCodeOf(answer)
      throw Object.assign(new Error(`HTTP ${answer.status}`), { code })
    }
    return answer.text()
  }

  /** A POST ended (answered or failed): its slot and its timer are free. False once the sender is closed. */
  #done(timer: ReturnType<typeof setTimeout>): boolean {
    this.#inFlight--
    this.#timers.delete(timer)
    clearTimeout(timer)
    return !this.#closed
  }

  close(): void {
    this.#closed = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#abort.abort()
  }
}
