import { isErrorCode, SwitchboardError } from '@switchboard/protocol'
import type { Logger } from './log.js'
import type { RpcHandler } from './rpc.js'
import { OVERSIZED } from './oversized.js'
import type { Session } from './session.js'

/**
 * The RPC methods of one server, and how a call is answered: with the handler's result, or an
 * error whose code is in the table (anything else is RPC_ERROR, its details only in the log).
 */
export class Calls<Identity> {
  #handlers = new Map<string, RpcHandler<unknown, unknown, Identity>>()
  #maxMessageBytes: number
  #log: Logger | undefined

  constructor(maxMessageBytes: number, log: Logger | undefined) {
    this.#maxMessageBytes = maxMessageBytes
    this.#log = log
  }

  define(method: string, handler: RpcHandler<unknown, unknown, Identity>): void {
    if (this.#handlers.has(method)) throw new TypeError(`RPC method "${method}" is defined twice`)
    this.#handlers.set(method, handler)
  }

  /** Runs an RPC handler; a sync handler is answered in the same turn, without a promise. */
  call(session: Session, ref: number, method: string, data: unknown): void {
    const handler = this.#handlers.get(method)
    if (!handler) return session.replyError(ref, new SwitchboardError('UNKNOWN_RPC', `No RPC method "${method}"`))
    if (data === OVERSIZED) return session.replyError(ref, new SwitchboardError('MESSAGE_TOO_LARGE', `A call exceeds ${this.#maxMessageBytes} bytes`))
    let result: unknown
    try {
      result = handler(data, { method, identity: session.identity as Identity, sessionId: session.id })
    } catch (e) {
      return this.#failed(session, ref, method, e)
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
      (result as PromiseLike<unknown>).then(
        (value) => session.reply(ref, value),
        (e: unknown) => this.#failed(session, ref, method, e),
      )
    else session.reply(ref, result)
  }

  #failed(session: Session, ref: number, method: string, e: unknown): void {
    // A code outside the table (a cast in the app) would make the client drop the whole batch.
    if (e instanceof SwitchboardError && isErrorCode(e.code)) return session.replyError(ref, e)
    this.#log?.({ kind: 'rpc', message: `${method} failed`, sessionId: session.id, data: e })
    session.replyError(ref, new SwitchboardError('RPC_ERROR'))
  }
}
