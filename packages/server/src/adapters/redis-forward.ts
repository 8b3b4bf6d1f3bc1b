import { isErrorCode, SwitchboardError } from '@switchboard/protocol'
import type { AdapterEvents } from './adapter.js'
import type { AnyRedis } from './redis-connection.js'
import type { RedisHealth } from './redis-health.js'
import type { RedisKeys } from './redis-keys.js'
import type { PubSubLink } from './redis-pubsub.js'

/** A request on its way to another node: `['q', id, fromNodeId, request]`. */
type Request = ['q', number, string, string]
/** Its answer, on the asking node's channel: `['a', id, null, answer]` or `['a', id, code, message]`. */
type Answer = ['a', number, string | null, string]

interface Waiting {
  resolve(answer: string): void
  reject(error: SwitchboardError): void
  timer: ReturnType<typeof setTimeout>
}

/**
 * Request/response between nodes over pub/sub: each node listens on its own channel, a request
 * names the node to answer to, and the answer comes back on that node's channel with the
 * request's id. Nobody listening (PUBLISH reaches 0 subscribers) means the node is unknown or gone.
 */
export class RedisForwarder {
  readonly nodeId: string
  #client: AnyRedis
  #sharded: boolean
  #keys: RedisKeys
  #health: RedisHealth
  #waiting = new Map<number, Waiting>()
  #lastId = 0
  #onForward: AdapterEvents['onForward']

  constructor(nodeId: string, client: AnyRedis, sharded: boolean, keys: RedisKeys, health: RedisHealth) {
    this.nodeId = nodeId
    this.#client = client
    this.#sharded = sharded
    this.#keys = keys
    this.#health = health
  }

  /** Starts taking requests (for `onForward`) and answers on this node's channel. */
  listen(link: PubSubLink, onForward: AdapterEvents['onForward']): Promise<void> {
    this.#onForward = onForward
    return link.add(this.#keys.node(this.nodeId), (message) => this.#receive(message))
  }

  async forward(nodeId: string, request: string, timeoutMs: number): Promise<string> {
    const id = ++this.#lastId
    const answer = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id)
        reject(new SwitchboardError('NODE_UNREACHABLE', `Node "${nodeId}" did not answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiting.set(id, { resolve, reject, timer })
    })
    // Settled early (the adapter closed while the request was being sent) before it is returned:
    // the caller still gets the rejection, and it is not reported as unhandled meanwhile.
    answer.catch(() => {})
    let listeners: number
    try {
      listeners = await this.#health.send(() => this.#publish(nodeId, ['q', id, this.nodeId, request] satisfies Request))
    } catch (e) {
      this.#settle(id)?.reject(e as SwitchboardError)
      return answer
    }
    if (listeners === 0)
      this.#settle(id)?.reject(new SwitchboardError('NODE_UNREACHABLE', `Node "${nodeId}" is not listening`, { data: { gone: true } }))
    return answer
  }

  close(): void {
    this.#onForward = undefined
    for (const id of [...this.#waiting.keys()]) this.#settle(id)?.reject(new SwitchboardError('NODE_UNREACHABLE', 'The adapter was closed'))
  }

  #publish(nodeId: string, envelope: Request | Answer): Promise<number> {
    const channel = this.#keys.node(nodeId)
    const text = JSON.stringify(envelope)
    return (this.#sharded ? this.#client.spublish(channel, text) : this.#client.publish(channel, text)) as Promise<number>
  }

  #settle(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id)
    if (waiting === undefined) return undefined
    this.#waiting.delete(id)
    clearTimeout(waiting.timer)
    return waiting
  }

  #receive(message: string): void {
    let envelope: Request | Answer
    try {
      envelope = JSON.parse(message) as Request | Answer
    } catch {
      return // not ours
    }
    if (envelope[0] === 'q') void this.#answer(envelope as Request)
    else if (envelope[0] === 'a') {
      const [, id, code, text] = envelope as Answer
      const waiting = this.#settle(id)
      if (code === null) waiting?.resolve(text)
      else waiting?.reject(new SwitchboardError(isErrorCode(code) ? code : 'INTERNAL', text))
    }
  }

  async #answer([, id, from, request]: Request): Promise<void> {
    let answer: Answer
    try {
      const handler = this.#onForward
      if (handler === undefined) throw new SwitchboardError('NODE_UNREACHABLE', `Node "${this.nodeId}" takes no forwarded requests`)
      answer = ['a', id, null, await handler(request)]
    } catch (e) {
      const error = e instanceof SwitchboardError ? e : new SwitchboardError('INTERNAL')
      answer = ['a', id, error.code, error.message]
    }
    // An answer that cannot be sent is an answer the asking node times out on.
    await this.#publish(from, answer).catch(() => {})
  }
}
