import {
  FrameType,
  SwitchboardError,
  type ClientFrame,
  type ErrorCode,
  type MessageFrame,
  type RequestType,
  type TransportName,
} from '@switchboard/protocol'
import type { ConnectionConfig } from '../connection-config.js'
import { Emitter } from '../emitter.js'
import type { ConnectionEvents } from '../events.js'
import type { LogEvent } from '../log.js'
import type { ClientState } from '../state.js'
import { holdLock } from './election.js'
import type { TabChannel, TabEnvironment } from './environment.js'
import { groupNames, randomId, type GroupNames } from './group.js'
import { Hub } from './hub.js'
import { fromTabError, isFromHub, type HubStatus, type ToHub } from './messages.js'
import { Mirror } from './mirror.js'
import { CatchUps } from './catch-ups.js'
import { TabRequests, type TabPending } from './tab-requests.js'

const LEADER_CLOSED = 'the tab holding the shared connection closed'

/** What a client needs of its session, whether its own or a share of another tab's. */
export interface SessionLike {
  request(build: (seq: number) => ClientFrame, timeoutMs?: number): Promise<unknown>
  requestData(type: RequestType, nameJson: string, dataJson: string, timeoutMs?: number): Promise<unknown>
  drained(): Promise<void>
  readonly queued: number
}

/**
 * This tab's share of a connection held by one tab of its group (same URL, transports, headers
 * and scope). Every tab is a member; the one holding the group's lock also runs the Hub with the
 * real connection, and its own member talks to it like any other. To the client it looks like a
 * Connection: the hub's `state`, `transport`, `session` and `error` events are replayed here
 * through the same transition table, and a change of leader looks like a lost session (the
 * channels resubscribe with `since`, each from its own offset).
 */
export class TabMember extends Emitter<ConnectionEvents> {
  readonly id = randomId()
  readonly session: SessionLike
  #config: ConnectionConfig
  #env: TabEnvironment
  #scope: string | null
  #mirror = new Mirror(
    (event, payload) => this.emit(event, payload),
    (message) => this.#log('state', message),
  )
  #hub: string | null = null
  #hubHere: Hub | null = null
  #names: GroupNames | null = null
  #up: TabChannel | null = null
  #down: TabChannel | null = null
  #requests = new TabRequests()
  #catchUps = new CatchUps()
  /** Give up the locks this tab holds or waits for. */
  #releases: (() => void)[] = []
  #closedWith: SwitchboardError | null = null

  constructor(config: ConnectionConfig, env: TabEnvironment, scope: string | null) {
    super()
    this.#config = config
    this.#env = env
    this.#scope = scope
    const requests = this.#requests
    this.session = {
      request: (build, timeoutMs) => this.#request(build, timeoutMs),
      requestData: (type, name, data, timeoutMs) => this.#request({ kind: 'data', type, name, data }, timeoutMs),
      // Closed: nothing waits any more, as for a client with its own connection.
      drained: () => (this.#closedWith ? Promise.resolve() : (this.#request({ kind: 'drain' }, undefined) as Promise<void>)),
      get queued() {
        return requests.size
      },
    }
  }

  get state(): ClientState {
    return this.#mirror.state
  }

  get transport(): TransportName | null {
    return this.#mirror.transport
  }

  get info(): { sessionId: string } | null {
    const sessionId = this.#mirror.sessionId
    return sessionId === null ? null : { sessionId }
  }

  start(): void {
    if (this.state !== 'idle') return
    this.#mirror.moveTo('connecting', 'connect() called')
    this.#join().catch((e: unknown) => this.close('could not join the other tabs', new SwitchboardError('CONNECT_FAILED', String(e), { cause: e })))
  }

  close(reason = 'close() called', error?: SwitchboardError): void {
    if (this.state === 'closed') return
    this.#closedWith = new SwitchboardError('CLOSED', error ? `The client closed: ${error.message}` : undefined)
    this.#requests.rejectAll(this.#closedWith)
    // The hub first, silently: the next tab in line takes over when the lock comes free.
    this.#hubHere?.close()
    for (const release of this.#releases) release()
    if (this.#down) this.#down.onmessage = null
    this.#down?.close()
    this.#up?.close()
    this.#mirror.moveTo('closed', reason, error?.code)
  }

  /** Finds the group, takes this member's own lock, asks who leads, and queues for the lead. */
  async #join(): Promise<void> {
    const c = this.#config
    let headers: Record<string, string>
    let scope = this.#scope
    try {
      headers = await c.headers()
    } catch {
      // Who this tab is cannot be told: it shares with nobody, and its own connection retries the headers.
      headers = {}
      scope = randomId()
    }
    const names = await groupNames(this.#env, { url: c.baseUrl, transports: c.transports, headers, scope })
    if (this.#closedWith) return
    this.#names = names
    const locks = this.#env.locks
    // Its own lock before its first word, so a hub that hears from it can watch it.
    await new Promise<void>((resolve) => this.#releases.push(holdLock(locks, names.member(this.id), resolve)))
    if (this.#closedWith) return
    this.#down = new this.#env.BroadcastChannel(names.down)
    this.#down.onmessage = (event) => this.#onMessage(event.data)
    this.#up = new this.#env.BroadcastChannel(names.up)
    this.#post({ t: 'join', from: this.id })
    this.#releases.push(holdLock(locks, names.leader, () => this.#lead()))
  }

  /** This tab got the group's lock: it runs the connection for the group from now on. */
  #lead(): void {
    if (this.#closedWith || !this.#names) return
    this.#log('session', 'this tab holds the connection its group of tabs shares')
    this.#hubHere = new Hub(this.#config, this.#env, this.#names)
    this.#hubHere.start()
  }

  #request(request: TabPending['request'], timeoutMs: number | undefined): Promise<unknown> {
    if (this.#closedWith) throw this.#closedWith
    const { pending, promise } = this.#requests.add(request, timeoutMs)
    if (this.#hub !== null) this.#send(pending)
    return promise
  }

  #send(pending: TabPending): void {
    pending.hub = this.#hub
    const req = TabRequests.build(pending)
    if (req.kind === 'frame' && req.frame[0] === FrameType.SUBSCRIBE) this.#catchUps.started(req.frame[2], pending.id)
    this.#post({ t: 'req', from: this.id, id: pending.id, req, timeoutMs: TabRequests.remainingMs(pending) })
  }

  #deliver = (channel: string, data: unknown, offset: number): void => {
    this.#config.onData([FrameType.MESSAGE, 0, channel, data, offset] as MessageFrame)
  }

  #isPending = (id: number): boolean => this.#requests.has(id)

  #post(message: ToHub): void {
    this.#up?.postMessage(message)
  }

  #onMessage(message: unknown): void {
    if (this.#closedWith || !isFromHub(message)) return
    if (message.hub !== this.#hub) {
      // A hub announces itself with its status; a new one means the last one's tab closed.
      if (message.t !== 'status' && message.t !== 'state') return
      this.#ledBy(message.hub)
    }
    switch (message.t) {
      case 'status':
        return this.#follow(message, message.state === 'open' ? `${message.transport} attached (shared with other tabs)` : 'joined the tabs')
      case 'state':
        return this.#follow(message, message.change.reason, message.change.code)
      case 'transport':
        return this.#mirror.setTransport(message.change.to, message.change.reason)
      case 'session':
        return this.#mirror.session(message.change)
      case 'error':
        return this.emit('error', fromTabError(message.error))
      case 'msg':
        if (!this.#catchUps.hold(message.channel, [message.data, message.offset], this.#isPending))
          this.#deliver(message.channel, message.data, message.offset)
        return
      case 'reply': {
        if (message.to !== this.id) return
        // The catch-up first, while the channel still waits for its answer (as over a line of its own).
        this.#catchUps.answered(message.id, message.error ? Number.POSITIVE_INFINITY : message.floor, this.#deliver)
        return this.#requests.settle(message.id, message.result, message.error && fromTabError(message.error))
      }
      case 'took': {
        const upTo = message.upTo[this.id]
        if (upTo !== undefined) this.#requests.taken(message.hub, upTo)
      }
    }
  }

  /** `hub` leads now. After another hub, this is a lost session: its untaken requests go to the new one. */
  #ledBy(hub: string): void {
    const first = this.#hub === null
    this.#hub = hub
    const resend = this.#requests.follow(hub)
    if (!first) {
      this.#log('session', LEADER_CLOSED)
      this.#mirror.leaderClosed(LEADER_CLOSED)
    }
    for (const pending of resend) this.#send(pending)
  }

  /** Takes the hub's status as this tab's own; its end is this tab's too. */
  #follow(status: HubStatus, reason: string, code?: ErrorCode): void {
    if (status.state === 'closed') return this.close(reason, code && new SwitchboardError(code, reason))
    this.#mirror.follow(status, reason, code)
  }

  #log(kind: LogEvent['kind'], message: string): void {
    this.#config.logger?.({ kind, message, sessionId: this.#mirror.sessionId ?? undefined })
  }
}
