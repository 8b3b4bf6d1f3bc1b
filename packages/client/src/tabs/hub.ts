import { FrameType, type ClientDataFrame, type ServerDataFrame } from '@switchboard/protocol'
import { Connection, type ConnectionConfig } from '../connection.js'
import { microtask } from '../microtask.js'
import { watchLock } from './election.js'
import type { TabChannel, TabEnvironment } from './environment.js'
import { randomId, type GroupNames } from './group.js'
import { isToHub, toTabError, type FromHub, type HubStatus, type TabRequest } from './messages.js'
import { SharedChannels, type SharedSubscribe } from './shared-channels.js'

/**
 * The group's one real connection, run by the tab that holds the group's lock. It takes every
 * member's requests (its own tab's too) onto its session, answers each to its member, and tells
 * every member what the connection does and every message it receives. A channel is subscribed
 * once on the session for all the tabs that hold it, and unsubscribed when the last one lets go
 * (by unsubscribing, closing, or closing its tab: the member's own lock comes free then); see
 * SharedChannels for each tab's own catch-up.
 */
export class Hub {
  readonly id = randomId()
  #connection: Connection
  #env: TabEnvironment
  #names: GroupNames
  #up: TabChannel
  #down: TabChannel
  /** Members heard from, each with the function that stops watching its lock. */
  #members = new Map<string, () => void>()
  #channels: SharedChannels
  /** The last request id taken per member since the last `took` was posted (see #postTook). */
  #took: Record<string, number> = {}
  #tookQueued = false
  /** Set by close(): nothing more is posted, so members take the end of this tab for what it is. */
  #closed = false

  constructor(config: ConnectionConfig, env: TabEnvironment, names: GroupNames) {
    this.#env = env
    this.#names = names
    this.#up = new env.BroadcastChannel(names.up)
    this.#down = new env.BroadcastChannel(names.down)
    const connection = new Connection({ ...config, onData: (frame) => this.#onData(frame) })
    this.#connection = connection
    this.#channels = new SharedChannels(connection.session)
    connection.on('session', ({ resumed }) => resumed || this.#channels.sessionLost())
    connection.on('state', (change) => {
      this.#post({ t: 'state', hub: this.id, change, ...this.#status() })
      if (change.to === 'open') this.#queueTook()
    })
    connection.on('transport', (change) => this.#post({ t: 'transport', hub: this.id, change }))
    connection.on('session', (change) => this.#post({ t: 'session', hub: this.id, change }))
    connection.on('error', (error) => this.#post({ t: 'error', hub: this.id, error: toTabError(error) }))
    this.#up.onmessage = (event) => this.#onMessage(event.data)
  }

  /** Announces this hub to every member (they send again what the last hub never took) and connects. */
  start(): void {
    this.#post({ t: 'status', hub: this.id, ...this.#status() })
    this.#connection.start()
  }

  /** This tab's client closed: the connection ends, silently, and the next tab in line takes over. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const stop of this.#members.values()) stop()
    this.#members.clear()
    this.#up.onmessage = null
    this.#connection.close()
    this.#up.close()
    this.#down.close()
  }

  #status(): HubStatus {
    const c = this.#connection
    return { state: c.state, transport: c.transport, sessionId: c.info?.sessionId ?? null }
  }

  #post(message: FromHub): void {
    if (!this.#closed) this.#down.postMessage(message)
  }

  #onData(frame: ServerDataFrame): void {
    if (frame[0] !== FrameType.MESSAGE) return
    this.#channels.delivered(frame[2], frame[4])
    this.#post({ t: 'msg', hub: this.id, channel: frame[2], data: frame[3], offset: frame[4] })
  }

  #onMessage(message: unknown): void {
    if (this.#closed || !isToHub(message)) return
    this.#know(message.from)
    if (message.t === 'join') return this.#post({ t: 'status', hub: this.id, ...this.#status() })
    const { from, id } = message
    const req = message.req
    let reply: Promise<unknown>
    try {
      reply = this.#request(from, req, message.timeoutMs)
    } catch (e) {
      reply = Promise.reject(e)
    }
    const subscribed = req.kind === 'frame' && req.frame[0] === FrameType.SUBSCRIBE ? req.frame[2] : null
    reply.then(
      (answer) =>
        this.#post(
          subscribed === null
            ? { t: 'reply', hub: this.id, to: from, id, result: answer }
            : { t: 'reply', hub: this.id, to: from, id, ...this.#channels.answer(subscribed, answer as SharedSubscribe) },
        ),
      (e: unknown) => this.#post({ t: 'reply', hub: this.id, to: from, id, error: toTabError(e) }),
    )
    this.#took[from] = id
    this.#queueTook()
  }

  #queueTook(): void {
    if (this.#tookQueued) return
    this.#tookQueued = true
    microtask(this.#postTook)
  }

  /**
   * Tells the members which of their requests may have left for the server: those taken while the
   * connection has a line (it sends them at once), or when it gets one. Requests taken during an
   * outage are not told until then, so if this tab closes first, the next hub sends them: they
   * never left.
   */
  #postTook = (): void => {
    this.#tookQueued = false
    const state = this.#connection.state
    if (state !== 'open' && state !== 'upgrading') return
    const upTo = this.#took
    this.#took = {}
    if (Object.keys(upTo).length > 0) this.#post({ t: 'took', hub: this.id, upTo })
  }

  /** Puts one member's request on the session (throws what the session throws: CLOSED, OUTBOX_FULL, ...). */
  #request(from: string, req: TabRequest, timeoutMs: number | undefined): Promise<unknown> {
    const session = this.#connection.session
    if (req.kind === 'data') return session.requestData(req.type, req.name, req.data, timeoutMs)
    if (req.kind === 'drain') return session.drained().then(() => null)
    const frame = req.frame
    if (frame[0] === FrameType.SUBSCRIBE) return this.#channels.subscribe(from, frame, timeoutMs)
    if (frame[0] === FrameType.UNSUBSCRIBE) return this.#channels.unsubscribe(from, frame, timeoutMs)
    return session.request((seq) => withSeq(frame, seq), timeoutMs)
  }

  /** A member's first word: from now on its lock is watched, and when it comes free the member is gone. */
  #know(member: string): void {
    if (this.#members.has(member)) return
    this.#members.set(
      member,
      watchLock(this.#env.locks, this.#names.member(member), () => this.#gone(member)),
    )
  }

  /** A member closed or its tab did: the channels only it held are unsubscribed. */
  #gone(member: string): void {
    if (this.#closed || !this.#members.delete(member)) return
    this.#channels.forget(member)
  }
}

/** The frame with its seq (the member sent it without one). */
function withSeq(frame: ClientDataFrame, seq: number): ClientDataFrame {
  const copy = [...frame] as ClientDataFrame
  copy[1] = seq
  return copy
}
