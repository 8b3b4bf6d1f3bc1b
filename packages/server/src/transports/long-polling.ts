import type { ErrorCode } from '@switchboard/protocol'
import type { WhenGone } from '../http.js'
import type { ServerTransport, TransportHost } from './transport.js'

export const POLL_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-cache, no-store, no-transform',
}

/**
 * One long poll: writable until it carries one batch, then done. Held at most `timeoutMs`
 * (answered `[]`), closed early if the client goes away or a newer attach supersedes it.
 * Each poll carries the client's ack, so a lost answer is simply sent again by the next poll.
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
