import { SwitchboardError, type ClientDataFrame } from '@switchboard/protocol'
import type { Context } from 'hono'
import type { SessionDirectory, SessionLease } from '../adapters/adapter.js'
import { tokensEqual } from '../http.js'
import type { Logger } from '../log.js'
import { OVERSIZED } from '../oversized.js'
import type { SessionRegistry } from '../session-registry.js'
import type { Session } from '../session.js'
import type { SessionHandOff } from '../session-config.js'
import type { ChannelHandOver, ChannelPlace } from './channel-hand-over.js'
import { HeldSessions } from './held-sessions.js'
import {
  answerForwarded,
  describeRequest,
  hopsOf,
  MAX_HOPS,
  targetOf,
  type ForwardedEnv,
  type ForwardedRequest,
  type ForwardedResponse,
} from './forwarded-http.js'

/** A short request to another node (a POST, a proof, a step of a move) gets this long to be answered. */
const FORWARD_TIMEOUT_MS = 5_000
/** The old node waits this long, at most, for a session's request in progress before it lets go. */
const PAUSE_TIMEOUT_MS = 5_000
/** ... and this long for its subscriptions to reach where the new node joined the channels. */
const REACH_TIMEOUT_MS = 1_000

/** What one node asks another, as JSON through the adapter's `sessions.forward`. */
type Ask =
  | { op: 'http'; request: ForwardedRequest }
  | { op: 'prove' | 'channels'; sid: string; token: string }
  | { op: 'take'; sid: string; token: string; to: string; places: ChannelPlace[] }
  | { op: 'reply'; sid: string; frame: string; hops: number }

/** A session on its way to another node: who it is, its seqs and frames, where its channels stand. */
interface Traveller {
  identity: unknown
  publishKey: string
  fence: number
  handOff: SessionHandOff
  /** Indexes of `handOff.frames` whose data was too large (answered MESSAGE_TOO_LARGE where processed). */
  oversized: number[]
  places: ChannelPlace[]
}

/** What the routing of a node did since it started. */
export interface RoutingCounts {
  /** Requests this node passed to the node holding their session. */
  forwarded: number
  /** Sessions that moved here from another node, and from here to another. */
  movedIn: number
  movedOut: number
}

/**
 * Sessions across nodes, with no sticky balancer: a short request (a POST, a poll, a probe) for a
 * session another node holds is forwarded there in one hop; a long-lived line (a WebSocket or
 * SSE attach) that lands here moves the session here. The directory's fences make sure two
 * nodes never serve a session at once. The sequences are in docs/cluster.md.
 */
export class SessionRouter {
  readonly counts: RoutingCounts = { forwarded: 0, movedIn: 0, movedOut: 0 }
  #registry: SessionRegistry
  #channels: ChannelHandOver
  #directory: SessionDirectory
  #fetch: (request: Request, env: ForwardedEnv) => Response | Promise<Response>
  #log: Logger | undefined
  #pollTimeoutMs: number
  #held: HeldSessions
  /** Sessions on their way here: requests for them wait until they are. */
  #arriving = new Map<string, Promise<void>>()

  constructor(
    registry: SessionRegistry,
    channels: ChannelHandOver,
    directory: SessionDirectory,
    fetch: (request: Request, env: ForwardedEnv) => Response | Promise<Response>,
  ) {
    this.#registry = registry
    this.#channels = channels
    this.#directory = directory
    this.#fetch = fetch
    this.#log = registry.options.logger
    this.#held = new HeldSessions(directory, Math.max(60_000, 2 * registry.options.recoveryMs))
    this.#pollTimeoutMs = registry.options.pollTimeoutMs
  }

  get nodeId(): string {
    return this.#directory.nodeId
  }

  // ---- the sessions this node holds ---------------------------------------------------------

  /** Claims a new session for this node (see HeldSessions.claim). */
  async claim(session: Session): Promise<void> {
    try {
      await this.#held.claim(session.id)
    } catch (e) {
      this.#logLine(`claim of a new session failed: ${(e as Error).message}`, session.id)
    }
  }

  /** The key of publish `seq` of `session`: `<publishKey>.<seq>`. */
  publishKey(session: Session, seq?: number): string | undefined {
    return this.#held.publishKey(session.id, seq)
  }

  /** The session ended here: its lease goes. */
  released(session: Session): void {
    this.#held.release(session.id)
  }

  /** Renews every lease past half its life (called by the sweep); ends a session another node serves. */
  renew(now: number): void {
    this.#held.renew(now, (sid, nodeId) => {
      this.#logLine(`node ${nodeId} holds this session: ending it here`, sid)
      this.#registry.sessions.get(sid)?.end('SESSION_LOST', 0)
    })
  }

  // ---- requests for sessions held elsewhere --------------------------------------------------

  /**
   * Answers request `c` of session `sid` through the node that holds it. Undefined when the
   * session is (now) here or held nowhere: the route goes on and answers from this node.
   */
  async forward(c: Context, sid: string, body: string | null): Promise<Response | undefined> {
    await this.#arriving.get(sid)?.catch(() => {})
    if (this.#registry.holds(sid) || hopsOf(c) >= MAX_HOPS) return undefined
    const lease = await this.#owner(sid)
    if (lease === null) return undefined
    const timeout = FORWARD_TIMEOUT_MS + (c.req.method === 'GET' ? this.#pollTimeoutMs : 0)
    const answer = await this.#ask(lease.nodeId, { op: 'http', request: describeRequest(c, targetOf(c), body) }, timeout)
    this.counts.forwarded++
    const { status, headers, body: text } = JSON.parse(answer) as ForwardedResponse
    return new Response(text, { status, headers })
  }

  /**
   * Makes session `sid` usable by a line that landed here: moves it here from the node that holds
   * it, or, for a `probe`, only checks the token there. Rejects with UNKNOWN_SESSION when no live
   * node holds it, INVALID_TOKEN, or NODE_UNREACHABLE when its node is slow to answer.
   */
  async bringHere(sid: string, token: string, probe: boolean): Promise<void> {
    const arriving = this.#arriving.get(sid)
    if (arriving !== undefined) await arriving.catch(() => {})
    if (this.#registry.holds(sid)) return
    if (probe) {
      const lease = await this.#owner(sid)
      if (lease === null) throw new SwitchboardError('UNKNOWN_SESSION')
      await this.#ask(lease.nodeId, { op: 'prove', sid, token })
      return
    }
    // One move per session at a time: lines that land together wait for the first one's (each
    // proves its own token here once the session is).
    let arrival = this.#arriving.get(sid)
    if (arrival === undefined) {
      arrival = this.#arrive(sid, token).finally(() => this.#arriving.delete(sid))
      this.#arriving.set(sid, arrival)
    }
    await arrival
  }

  /** The new node's half of a move (see ChannelHandOver for the channels' part). */
  async #arrive(sid: string, token: string): Promise<void> {
    const lease = await this.#owner(sid)
    if (lease === null) throw new SwitchboardError('UNKNOWN_SESSION')
    const from = lease.nodeId
    const channels = JSON.parse(await this.#ask(from, { op: 'channels', sid, token })) as string[]
    const session = this.#registry.arriving(sid, token)
    let adopted = false
    try {
      const prepared = await this.#channels.prepare(session, channels)
      const take: Ask = { op: 'take', sid, token, to: this.nodeId, places: prepared }
      // The old node may wait for a request in progress and for its channels before it answers.
      const traveller = JSON.parse(await this.#ask(from, take, PAUSE_TIMEOUT_MS + REACH_TIMEOUT_MS + FORWARD_TIMEOUT_MS)) as Traveller
      for (const i of traveller.oversized) (traveller.handOff.frames[i] as unknown[])[3] = OVERSIZED
      session.identity = traveller.identity
      session.move.takeOver(traveller.handOff)
      this.#registry.adopt(session)
      adopted = true
      this.#held.adopt(sid, traveller.fence, traveller.publishKey)
      this.counts.movedIn++
      this.#logLine(`moved here from node ${from}`, sid)
      let lost: string[]
      try {
        lost = await this.#channels.resume(session, traveller.places, prepared)
      } catch (e) {
        // The broker failed a history read: the session cannot say what its channels missed. Its
        // client hears why on the line it attaches, starts anew and resubscribes with `since`.
        this.#logLine(`could not resume its channels: ${(e as Error).message}`, sid)
        return session.end('ADAPTER_UNAVAILABLE', 0, 'The session moved, and its channels could not be caught up')
      }
      // History no longer held what was published during the move: a new session learns exactly what.
      if (lost.length > 0) session.end('SESSION_LOST', 0, `Messages of ${lost.join(', ')} were lost while the session moved`)
    } finally {
      if (!adopted) this.#channels.leaveAll(session)
    }
  }

  // ---- what other nodes ask of this one -------------------------------------------------------

  /** Answers another node's request (the adapter's `onForward`). */
  async onForward(text: string): Promise<string> {
    const ask = JSON.parse(text) as Ask
    switch (ask.op) {
      case 'http':
        return JSON.stringify(await answerForwarded(ask.request, this.#fetch))
      case 'prove':
        this.#proven(ask.sid, ask.token)
        return ''
      case 'channels':
        return JSON.stringify(this.#channels.channelsOf(this.#proven(ask.sid, ask.token)))
      case 'take':
        return JSON.stringify(await this.#leave(this.#proven(ask.sid, ask.token), ask.to, ask.places))
      case 'reply':
        await this.#lateReply(ask.sid, ask.frame, ask.hops)
        return ''
    }
  }

  #proven(sid: string, token: string): Session {
    const session = this.#registry.sessions.get(sid)
    if (session === undefined) throw new SwitchboardError('UNKNOWN_SESSION')
    if (!tokensEqual(token, session.token)) throw new SwitchboardError('INVALID_TOKEN')
    return session
  }

  /** The old node's half of a move: pause, catch up to the new node's places, hand over, leave. */
  async #leave(session: Session, to: string, places: ChannelPlace[]): Promise<Traveller> {
    const fence = this.#held.fenceOf(session.id)
    // Checked before anything changes: an identity JSON cannot carry keeps the session here.
    const identity = JSON.parse(JSON.stringify(session.identity ?? null)) as unknown
    let timer: ReturnType<typeof setTimeout> | undefined
    const busy = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SwitchboardError('NODE_UNREACHABLE', 'The session is busy: try again')), PAUSE_TIMEOUT_MS)
    })
    try {
      await Promise.race([session.move.pause(), busy])
      await this.#channels.reach(session, places, REACH_TIMEOUT_MS)
      const lease = await this.#held.handOver(session.id, fence, to)
      // From here on nothing waits: frames and messages that came meanwhile are all in the hand-off.
      const handOff = session.move.handOff()
      const oversized = handOff.frames.flatMap((frame: ClientDataFrame, i) => ((frame as unknown[])[3] === OVERSIZED ? [i] : []))
      const traveller: Traveller = { identity, ...lease, handOff, oversized, places: this.#channels.placesOf(session) }
      this.#held.left(session.id)
      this.#registry.depart(session)
      this.#channels.leaveAll(session)
      session.move.moved((frame) => void this.#lateReply(session.id, frame, 0))
      this.counts.movedOut++
      this.#logLine(`moved to node ${to}`, session.id)
      return traveller
    } catch (e) {
      if (!session.ended) session.move.resume()
      throw e
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * A reply to a call that finished on a node the session left: it goes where the session is now.
   * One that finds the session nowhere is dropped: the client's call failed with its session.
   */
  async #lateReply(sid: string, frame: string, hops: number): Promise<void> {
    await this.#arriving.get(sid)?.catch(() => {})
    const session = this.#registry.sessions.get(sid)
    if (session !== undefined) return session.move.lateReply(JSON.parse(frame) as unknown[])
    if (hops >= MAX_HOPS) return
    try {
      const lease = await this.#owner(sid)
      if (lease !== null) await this.#ask(lease.nodeId, { op: 'reply', sid, frame, hops: hops + 1 })
    } catch (e) {
      this.#logLine(`a late reply was lost: ${(e as Error).message}`, sid)
    }
  }

  // ---- the directory and the wire -----------------------------------------------------------

  /** The node holding `sid` when it is another live node's; null when none is. */
  async #owner(sid: string): Promise<SessionLease | null> {
    const lease = await this.#directory.owner(sid)
    return lease === null || lease.nodeId === this.nodeId ? null : lease
  }

  /**
   * Asks node `nodeId`. A node nobody listens for any more (it died) held its sessions in its
   * memory: they are gone, UNKNOWN_SESSION, and the client starts a new session at once.
   */
  async #ask(nodeId: string, ask: Ask, timeoutMs = FORWARD_TIMEOUT_MS): Promise<string> {
    try {
      return await this.#directory.forward(nodeId, JSON.stringify(ask), timeoutMs)
    } catch (e) {
      const error = e instanceof SwitchboardError ? e : new SwitchboardError('INTERNAL', undefined, { cause: e })
      if (error.code === 'NODE_UNREACHABLE' && (error.data as { gone?: boolean } | undefined)?.gone)
        throw new SwitchboardError('UNKNOWN_SESSION', `Node ${nodeId}, which held the session, is gone`)
      throw error
    }
  }

  #logLine(message: string, sessionId: string): void {
    this.#log?.({ kind: 'session', message, sessionId })
  }
}
