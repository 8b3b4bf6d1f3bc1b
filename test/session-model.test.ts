import fc from 'fast-check'
import { ACK_DELAY_MS } from '@switchboard/protocol'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { LIMITS, SessionPair, type Line } from './helpers/session-link.js'

/**
 * Model-based test of the session pair: a real server Session and a real ClientSession joined by
 * in-memory lines (test/helpers/session-link.ts), driven by random fast-check command sequences:
 * the client sends requests (PUBLISH or CALL; the server echoes each with a REPLY and a MESSAGE),
 * the server sends messages, batches are delivered in order per line and direction, duplicated,
 * or lost with their line (cut), the client reattaches (HELLO with its ack, WELCOME with the
 * server's) or switches transport while the old line is still up (whatever is in flight on the
 * old line may still arrive, or be lost), and timers run (the ack delays; both sides flush in a
 * microtask at the end of the callback that wrote). The model is the list of data frames each side sent, in seq order.
 *
 * After every command: each side has delivered a prefix of what the other sent, exactly once and
 * in order; each replay buffer holds exactly the frames the peer has acked so far subtracted from
 * what was sent (never dropping one the peer lacks), within its bound; every request settles at
 * most once, with its own reply. After the sequence, a last reattach and delivering everything
 * must deliver every frame on both sides, settle every request and empty both buffers.
 *
 * Timers are vitest's fake setTimeout; the flushes (microtasks on a resolved promise, both sides)
 * stay real, and `drain` yields one real setImmediate so every pending microtask has run.
 */

const realSetImmediate = globalThis.setImmediate
/** Runs every pending microtask (client flushes, promise reactions) and no fake timer. */
const drain = () => new Promise<void>((resolve) => realSetImmediate(resolve))

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

function checkInvariants(p: SessionPair): void {
  const { session, client } = p
  expect(p.violations).toEqual([])
  expect(session.ended).toBe(false)

  // Server side: a prefix of the client's frames, each once, in order.
  expect(session.received).toBeLessThanOrEqual(p.clientSent.length)
  expect(p.dispatched).toEqual(range(session.received))

  // Client side: a prefix of the server's frames, each once (messages through onData, replies
  // through their request; the order between the two is checked in onData).
  expect(client.received).toBeLessThanOrEqual(p.serverSent.length)
  expect([...p.clientMessages, ...p.replySeqs].sort((a, b) => a - b)).toEqual(range(client.received))

  // Requests settle at most once; the pending ones are exactly the unsettled ones.
  for (const [ref, times] of p.settledTimes) expect({ ref, times }).toEqual({ ref, times: 1 })
  expect(client.pendingCount).toBe(p.requests - p.settledTimes.size)

  // Replay buffers: exactly the frames not yet acked, never fewer than the peer lacks, bounded.
  expect(session.unacked).toBe(p.serverSent.length - p.serverAckSeen)
  expect(p.serverAckSeen).toBeLessThanOrEqual(client.received)
  expect(session.unacked).toBeLessThanOrEqual(LIMITS.replayFrames)
  // Requests past the outbox's bound wait for room, not yet in it.
  expect(client.unacked + client.queued).toBe(p.clientSent.length - p.clientAckSeen)
  expect(p.clientAckSeen).toBeLessThanOrEqual(session.received)
  expect(client.unacked).toBeLessThanOrEqual(LIMITS.outboxFrames)

  // Batches respect the byte limit both ways.
  expect(p.oversized).toEqual([])
}

/** Delivers everything on every line and runs the timers until nothing moves. */
async function deliverAll(p: SessionPair): Promise<void> {
  for (let round = 0; round < 50; round++) {
    let moved = false
    for (const line of [...p.lines])
      while (p.deliverUp(line)) {
        moved = true
        await drain()
      }
    for (const line of [...p.lines])
      while (p.deliverDown(line)) {
        moved = true
        await drain()
      }
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS + 5)
    await drain()
    if (!moved && p.lines.every((l) => l.up.length === 0 && l.down.length === 0)) return
  }
  throw new Error('the pair did not settle in 50 rounds')
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Model {
  /** A line exists (possibly not yet welcomed); false after a cut, until a reattach. */
  hasLine: boolean
}
type Dir = 'up' | 'down'
type Cmd = fc.AsyncCommand<Model, SessionPair>

abstract class PairCommand implements Cmd {
  check(_m: Readonly<Model>): boolean {
    return true
  }
  async run(m: Model, p: SessionPair): Promise<void> {
    await this.act(m, p)
    await drain()
    checkInvariants(p)
  }
  abstract act(m: Model, p: SessionPair): void | Promise<void>
  abstract toString(): string
}

/** The line `back` places before the newest (0: the newest), clamped to the oldest. */
function pickLine(p: SessionPair, back: number): Line | undefined {
  return p.lines[Math.max(0, p.lines.length - 1 - back)]
}

class ClientRequests extends PairCommand {
  constructor(readonly kinds: ('publish' | 'call')[]) {
    super()
  }
  act(_m: Model, p: SessionPair) {
    for (const kind of this.kinds) {
      // Past the outbox's bound a request waits for room instead of being refused.
      expect({ kind, accepted: p.request(kind) }).toEqual({ kind, accepted: true })
    }
  }
  toString() {
    return `request(${this.kinds.join(',')})`
  }
}

class ServerMessages extends PairCommand {
  constructor(readonly n: number) {
    super()
  }
  act(_m: Model, p: SessionPair) {
    for (let i = 0; i < this.n; i++) p.serverMessage()
  }
  toString() {
    return `serverSend(${this.n})`
  }
}

/** Delivers up to `k` batches, in order, from one line in one direction (`yieldBetween`: one event-loop turn each). */
class Deliver extends PairCommand {
  constructor(
    readonly dir: Dir,
    readonly back: number,
    readonly k: number,
    readonly yieldBetween: boolean,
  ) {
    super()
  }
  async act(_m: Model, p: SessionPair) {
    const line = pickLine(p, this.back)
    if (!line) return
    for (let i = 0; i < this.k; i++) {
      if (!(this.dir === 'up' ? p.deliverUp(line) : p.deliverDown(line))) return
      if (this.yieldBetween) await drain()
    }
  }
  toString() {
    return `deliver(${this.dir}, line -${this.back}, ${this.k}${this.yieldBetween ? ', yielding' : ''})`
  }
}

/** A batch in flight is carried again, later on the same line (a retried POST, a replaying proxy). */
class Duplicate extends PairCommand {
  constructor(
    readonly dir: Dir,
    readonly back: number,
    readonly index: number,
    readonly later: number,
  ) {
    super()
  }
  act(_m: Model, p: SessionPair) {
    const line = pickLine(p, this.back)
    const queue = line && (this.dir === 'up' ? line.up : line.down)
    if (!queue || queue.length === 0) return
    const at = this.index % queue.length
    const to = at + 1 + (this.later % (queue.length - at))
    queue.splice(to, 0, queue[at]!)
  }
  toString() {
    return `duplicate(${this.dir}, line -${this.back}, #${this.index} -> +${this.later})`
  }
}

class Cut extends PairCommand {
  override check(m: Readonly<Model>) {
    return m.hasLine
  }
  act(m: Model, p: SessionPair) {
    p.cut()
    m.hasLine = false
  }
  toString() {
    return 'cut'
  }
}

class Reattach extends PairCommand {
  override check(m: Readonly<Model>) {
    return !m.hasLine
  }
  act(m: Model, p: SessionPair) {
    p.openLine()
    m.hasLine = true
  }
  toString() {
    return 'reattach'
  }
}

/**
 * Switches transport while the current line is up (connection.ts's upgrade): the client pauses
 * it (and still takes batches from it until the new line's WELCOME) and opens a new line; the
 * server supersedes the old line when the new HELLO arrives. What is in flight on the old line
 * may still be delivered (Deliver with line -1) or lost (DropOld). Only from a line the client
 * has adopted, as connection.ts runs one attempt at a time.
 */
class Switch extends PairCommand {
  override check(m: Readonly<Model>) {
    return m.hasLine
  }
  act(_m: Model, p: SessionPair) {
    const line = p.current
    if (!line || p.clientLine !== line) return
    p.client.detach()
    p.openLine()
  }
  toString() {
    return 'switch'
  }
}

/** Every line but the newest dies with what it carries. */
class DropOld extends PairCommand {
  act(_m: Model, p: SessionPair) {
    for (const line of p.lines.slice(0, -1)) p.drop(line)
  }
  toString() {
    return 'dropOld'
  }
}

type TimerMode = 'next' | 'immediates' | 'ackDelay'
class RunTimers extends PairCommand {
  constructor(readonly mode: TimerMode) {
    super()
  }
  async act() {
    if (this.mode === 'next') await vi.advanceTimersToNextTimerAsync()
    else await vi.advanceTimersByTimeAsync(this.mode === 'immediates' ? 0 : ACK_DELAY_MS + 5)
  }
  toString() {
    return `timers(${this.mode})`
  }
}

/**
 * Lets the pair go quiet on an established line: everything delivered, timers run. Then each side
 * must have acked what it delivered, so the client's outbox holds exactly the frames the server
 * lacks, and (`serverToo`) the server's replay buffer exactly the frames the client lacks.
 */
class Settle extends PairCommand {
  constructor(readonly serverToo: boolean) {
    super()
  }
  async act(_m: Model, p: SessionPair) {
    const line = p.current
    if (!line || p.clientLine !== line || !line.serverAttached) return
    await deliverAll(p)
    expect(p.client.unacked).toBe(p.clientSent.length - p.session.received)
    if (this.serverToo) expect(p.session.unacked).toBe(p.serverSent.length - p.client.received)
  }
  toString() {
    return this.serverToo ? 'settle' : 'settle(client outbox only)'
  }
}

const dir = fc.constantFrom<Dir>('up', 'down')
function commandsWith(settle: Settle): fc.Arbitrary<Iterable<Cmd>> {
  const command: fc.Arbitrary<Cmd> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(dir, fc.nat(2), fc.integer({ min: 1, max: 8 }), fc.boolean()).map(([d, back, k, y]) => new Deliver(d, back, k, y)),
    },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.constantFrom<'publish' | 'call'>('publish', 'call'), { minLength: 1, maxLength: 4 })
        .map((kinds) => new ClientRequests(kinds)),
    },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => new ServerMessages(n)) },
    { weight: 4, arbitrary: fc.constantFrom<TimerMode>('next', 'immediates', 'ackDelay').map((m) => new RunTimers(m)) },
    {
      weight: 2,
      arbitrary: fc.tuple(dir, fc.nat(2), fc.nat(7), fc.nat(7)).map(([d, back, i, j]) => new Duplicate(d, back, i, j)),
    },
    { weight: 1, arbitrary: fc.constant(new Cut()) },
    { weight: 2, arbitrary: fc.constant(new Reattach()) },
    { weight: 3, arbitrary: fc.constant(new Switch()) },
    { weight: 1, arbitrary: fc.constant(new DropOld()) },
    { weight: 2, arbitrary: fc.constant(settle) },
  )
  return fc.commands([command], { maxCommands: 100, size: 'max' })
}

/** Runs one command sequence, then the final reattach and delivery, and checks completeness. */
async function runScenario(cmds: Iterable<Cmd>): Promise<void> {
  const p = new SessionPair()
  try {
    p.openLine()
    await fc.asyncModelRun(() => ({ model: { hasLine: true }, real: p }), cmds)

    p.cut()
    p.openLine()
    await deliverAll(p)
    checkInvariants(p)
    expect(p.dispatched).toEqual(range(p.clientSent.length))
    expect(p.client.received).toBe(p.serverSent.length)
    expect(p.client.pendingCount).toBe(0)
    expect(p.settledTimes.size).toBe(p.requests)
    expect({ serverUnacked: p.session.unacked, clientUnacked: p.client.unacked }).toEqual({ serverUnacked: 0, clientUnacked: 0 })
  } finally {
    // Leave no line that could still take batches, and run what is pending: the server's flush
    // queue is module state, and a flush left pending would stall every later session.
    for (const line of p.lines) line.kill()
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS + 5)
  }
}

describe('client and server sessions, model-based', () => {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] })
  })
  afterAll(() => {
    vi.useRealTimers()
  })

  it('fake timers drive both ack delays; both sides flush in a microtask after the write', async () => {
    const p = new SessionPair()
    const line = p.openLine()
    p.deliverUp(line) // HELLO: the server attaches and writes the WELCOME at once
    expect(line.down).toHaveLength(1)
    p.deliverDown(line)
    expect(p.clientLine).toBe(line)

    p.serverMessage()
    expect(line.down).toHaveLength(0) // waits for the flush once this callback is done
    await vi.advanceTimersByTimeAsync(0)
    expect(line.down).toHaveLength(1)

    p.deliverDown(line)
    expect(p.client.received).toBe(1)
    await drain()
    expect(line.up).toHaveLength(0) // the client's ack waits ACK_DELAY_MS
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS + 5)
    expect(line.up).toEqual(['[[2,1]]'])
    p.deliverUp(line)
    expect(p.session.unacked).toBe(0)

    p.request('call')
    expect(line.up).toHaveLength(0)
    await drain() // the client's flush is a real microtask
    expect(line.up).toHaveLength(1)
    p.deliverUp(line)
    await vi.advanceTimersByTimeAsync(0) // reply and echo go out on the next immediate
    while (p.deliverDown(line)) await drain()
    expect(p.client.pendingCount).toBe(0)
    await vi.advanceTimersByTimeAsync(ACK_DELAY_MS + 5) // the server's ack of the call, the client's of both
    while (p.deliverUp(line) || p.deliverDown(line)) await drain()
    checkInvariants(p)
    expect({ server: p.session.unacked, client: p.client.unacked }).toEqual({ server: 0, client: 0 })
    line.kill()
  })

  it('delivers exactly once and in order both ways over drops, duplicates, reattaches and switches', async () => {
    await fc.assert(fc.asyncProperty(commandsWith(new Settle(true)), runScenario), { numRuns: 100 })
  })

  /**
   * Regression: during a switch the client keeps taking batches from the paused old line until
   * the new WELCOME; the HELLO carried an older ack, so the client must ack again on the new line
   * or the server keeps (and resends) frames the client already has. Shrunk counterexample:
   *   deliver(up), serverSend(1), deliver(down), switch, timers(next), deliver(up),
   *   deliver(down, old line), deliver(down), settle -> server unacked must be 0
   */
  it('acks every delivered frame once the line goes quiet, also after a switch', async () => {
    const counterexample: Cmd[] = [
      new Deliver('up', 0, 1, false),
      new ServerMessages(1),
      new Deliver('down', 0, 1, false),
      new Switch(),
      new RunTimers('next'),
      new Deliver('up', 0, 1, false),
      new Deliver('down', 1, 1, false),
      new Deliver('down', 0, 1, false),
      new Settle(true),
    ]
    await fc.assert(fc.asyncProperty(commandsWith(new Settle(true)), runScenario), {
      numRuns: 100,
      examples: [[counterexample]],
    })
  })
})
