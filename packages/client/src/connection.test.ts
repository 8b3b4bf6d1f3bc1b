import { fc, it as itProp } from '@fast-check/vitest'
import { type ErrorCode, FrameType } from '@switchboard/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Connection, type ConnectionConfig } from './connection.js'
import { backoffDelay } from './backoff.js'
import { FakeServer, fakeConfig, HEARTBEAT_MS } from './connection.fakes.js'
import type { SessionChange } from './events.js'
import { STABLE_LINE_MS } from './retry.js'
import { type ClientState, NEXT, type StateChange } from './state.js'

/**
 * The connection state machine under fake timers, against a fake server (connection.fakes.ts):
 * negotiate and long polls answered by a fake HttpClient, WebSocket lines driven by the test
 * (accept, deliver frames, drop). Only the public surface is asserted: `state` and `session`
 * events, the transport in use, the lines opened and closed, and the requests' outcomes.
 */

/** Lets every pending promise callback run (setImmediate is left real for this). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

let connections: Connection[] = []
/** Every `state` event of every connection of the test, to check the transition table after it. */
let changes: StateChange[][] = []

function setup(config: Partial<ConnectionConfig> = {}) {
  const server = new FakeServer()
  const connection = new Connection(fakeConfig(server, config))
  const states: (StateChange & { at: number })[] = []
  const sessions: SessionChange[] = []
  connection.on('state', (change) => states.push({ ...change, at: Date.now() }))
  connection.on('session', (change) => sessions.push(change))
  connections.push(connection)
  changes.push(states)
  /** A call whose outcome (value or error code) is kept, so no rejection goes unhandled. */
  const call = () => {
    const outcome: { code?: ErrorCode; settled: boolean } = { settled: false }
    connection.session
      .request((seq) => [FrameType.CALL, seq, 'echo', null])
      .then(
        () => (outcome.settled = true),
        (e: { code: ErrorCode }) => Object.assign(outcome, { code: e.code, settled: true }),
      )
    return outcome
  }
  /** Starts and attaches over a welcomed WebSocket. */
  const open = async () => {
    connection.start()
    await settle()
    server.socket.accept()
    server.socket.deliver([FrameType.WELCOME, 0])
    expect(connection.state).toBe('open')
  }
  return { server, connection, states, sessions, call, open }
}

const path = (states: readonly StateChange[]) => states.map((s) => s.to)

/** Each `state` event is a legal transition (state.ts NEXT) from the state the one before it reached. */
function expectLegal(states: readonly StateChange[]): void {
  let from: ClientState = 'idle'
  for (const { from: said, to } of states) {
    expect({ from: said, to }).toEqual({ from, to })
    expect(NEXT[from] as readonly ClientState[]).toContain(to)
    from = to
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  for (const c of connections) c.close()
  for (const states of changes) expectLegal(states)
  connections = []
  changes = []
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('Connection backoff', () => {
  /** Drops an open line, then refuses `refusals` reattaches in a row; returns each wait in backoff. */
  async function waits(t: ReturnType<typeof setup>, refusals: number): Promise<number[]> {
    t.server.socket.drop()
    for (let i = 0; i < refusals; i++) {
      await vi.advanceTimersToNextTimerAsync()
      expect(t.connection.state).toBe('connecting')
      t.server.socket.drop()
      await settle()
      expect(t.connection.state).toBe('backoff')
    }
    const entered = t.states.filter((s) => s.to === 'backoff')
    const left = t.states.filter((s) => s.from === 'backoff')
    return left.map((s, i) => s.at - (entered[i]?.at ?? Number.NaN))
  }

  it.each([0, 0.5, 0.999])('waits as backoffDelay says (random %s): a quick first retry, then growing waits up to maxMs', async (r) => {
    vi.spyOn(Math, 'random').mockReturnValue(r)
    const t = setup({ reconnect: { baseMs: 100, maxMs: 1_000 } })
    await t.open()
    let last: number | undefined
    const expected = Array.from({ length: 7 }, () => (last = backoffDelay(last, { baseMs: 100, maxMs: 1_000 }, () => r)))
    expect(await waits(t, expected.length)).toEqual(expected)
    for (const wait of expected) expect(wait).toBeLessThanOrEqual(1_000)
    expect(t.states.filter((s) => s.to === 'backoff').map((s) => s.code)).toEqual([undefined, ...expected.map(() => 'CONNECT_FAILED')])
  })

  it("retries within a fifth of the session's recovery window while the server holds it, then as backoffDelay says", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const t = setup({ reconnect: { baseMs: 100, maxMs: 10_000 } })
    t.server.recoveryMs = 2_000
    await t.open()
    // Its own waits would be 99, 249, 621, 1,551, …: from the third on, drawn below 400 ms
    // instead while they start inside the window (the last at 1,944 ms after the drop); the one
    // that starts past it (at 2,343 ms) is the backoff's own again.
    expect(await waits(t, 8)).toEqual([99, 249, 399, 399, 399, 399, 399, 10_000])
  })

  /** Reattaches over a new WebSocket after the pending retry; the same session resumes. */
  async function reattach(t: ReturnType<typeof setup>) {
    await vi.advanceTimersToNextTimerAsync()
    t.server.socket.accept()
    t.server.socket.deliver([FrameType.WELCOME, 0])
    expect(t.connection.state).toBe('open')
  }

  it('starts again from the quick first retry once a reattached line has held for STABLE_LINE_MS, same session resumed', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const t = setup()
    await t.open()
    expect(await waits(t, 3)).toEqual([99, 249, 621])
    await reattach(t)
    expect(t.sessions).toEqual([{ sessionId: 's1', resumed: true }])
    expect(t.server.negotiations).toBe(1)
    await vi.advanceTimersByTimeAsync(STABLE_LINE_MS)
    t.server.socket.drop()
    await vi.advanceTimersToNextTimerAsync()
    const [dropped, retried] = t.states.slice(-2).map((s) => s.at)
    expect(Number(retried) - Number(dropped)).toBe(99)
  })

  it('keeps the waits growing when a reattached line is lost before STABLE_LINE_MS', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const reconnect = { baseMs: 100, maxMs: 10_000 }
    const t = setup({ reconnect })
    await t.open()
    // Two refusals waited 99 and 249 ms; the reattach that worked came after 621.
    expect(await waits(t, 2)).toEqual([99, 249])
    await reattach(t)
    await vi.advanceTimersByTimeAsync(STABLE_LINE_MS - 1)
    t.server.socket.drop()
    await vi.advanceTimersToNextTimerAsync()
    const [dropped, retried] = t.states.slice(-2).map((s) => s.at)
    expect(Number(retried) - Number(dropped)).toBe(backoffDelay(621, reconnect, () => 0.999))
    expect(Number(retried) - Number(dropped)).toBeGreaterThan(621)
  })

  it('retries only the lost WebSocket for two rounds, then falls back to long polling in the third', async () => {
    const t = setup({ transports: ['websocket', 'long-polling'] })
    await t.open()
    const tried: string[] = []
    t.connection.on('transport', (c) => c.to && tried.push(c.to))
    t.server.socket.drop()
    for (let round = 1; round <= 3; round++) {
      await vi.advanceTimersToNextTimerAsync()
      expect(t.server.sockets).toHaveLength(1 + round)
      t.server.socket.drop()
      await settle()
    }
    // Only the third round went on to long polling, whose attach the fake server welcomes.
    expect(t.connection.state).toBe('open')
    expect(t.connection.transport).toBe('long-polling')
    expect(tried).toEqual(['long-polling'])
  })

  it('stays closed when a state listener closes it on entering backoff', async () => {
    const t = setup()
    await t.open()
    t.connection.on('state', ({ to }) => to === 'backoff' && t.connection.close('seen backoff'))
    t.server.socket.drop()
    await settle()
    expect(t.connection.state).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.states.at(-1)).toMatchObject({ from: 'backoff', to: 'closed', reason: 'seen backoff' })
  })

  it('closes on the first drop when reconnect is false', async () => {
    const t = setup({ reconnect: false })
    await t.open()
    t.server.socket.drop()
    expect(t.connection.state).toBe('closed')
    expect(t.states.at(-1)?.code).toBe('CONNECT_FAILED')
  })
})

describe('Connection renegotiation', () => {
  it('starts a new session when the server no longer knows the old one, failing its requests with SESSION_LOST', async () => {
    const t = setup()
    await t.open()
    const inFlight = t.call()
    await settle() // it went out: the old session may have processed it
    t.server.socket.drop()
    const queued = t.call() // made while no line is up: it never leaves
    await vi.advanceTimersToNextTimerAsync()
    t.server.socket.accept()
    t.server.socket.drop(4006) // UNKNOWN_SESSION
    await settle()
    expect(t.server.negotiations).toBe(2)
    expect(inFlight).toEqual({ code: 'SESSION_LOST', settled: true })
    expect(queued).toEqual({ settled: false }) // carried over to the new session
    t.server.socket.accept()
    expect(t.server.socket.sent[0]?.[0]).toEqual([FrameType.HELLO, 'token-s2', 0, 1])
    t.server.socket.deliver([FrameType.WELCOME, 0])
    expect(t.connection.state).toBe('open')
    expect(t.connection.info?.sessionId).toBe('s2')
    expect(t.sessions).toEqual([{ sessionId: 's2', resumed: false, reason: 'UNKNOWN_SESSION' }])
    await settle()
    expect(
      t.server.socket.sent
        .flat()
        .filter((f) => f[0] === FrameType.CALL)
        .map((f) => f[1]),
    ).toEqual([1]) // the carried call, renumbered
  })

  it('backs off instead of renegotiating without end when every new session is refused too', async () => {
    const t = setup()
    t.connection.start()
    for (let i = 0; i < 5 && t.connection.state === 'connecting'; i++) {
      await settle()
      t.server.socket.drop(4007) // INVALID_TOKEN
      await settle()
    }
    expect(t.connection.state).toBe('backoff')
    expect(t.server.negotiations).toBeLessThanOrEqual(3)
  })

  it("comes back with a new session after the server's CLOSE, waiting exactly the reconnectMs it names", async () => {
    const t = setup()
    await t.open()
    t.server.socket.deliver([FrameType.CLOSE, 'SERVER_SHUTDOWN', 'restarting', 300])
    expect(t.states.at(-1)).toMatchObject({ to: 'backoff', code: 'SERVER_SHUTDOWN' })
    await vi.advanceTimersByTimeAsync(299)
    expect(t.connection.state).toBe('backoff')
    await vi.advanceTimersByTimeAsync(1)
    await settle()
    expect(t.server.negotiations).toBe(2)
    t.server.socket.accept()
    t.server.socket.deliver([FrameType.WELCOME, 0])
    expect(t.sessions).toEqual([{ sessionId: 's2', resumed: false, reason: 'SERVER_SHUTDOWN' }])
  })

  it('closes with the code of a CLOSE that says not to come back', async () => {
    const t = setup()
    await t.open()
    const errors: ErrorCode[] = []
    t.connection.on('error', (e) => errors.push(e.code))
    t.server.socket.deliver([FrameType.CLOSE, 'UNAUTHORIZED', 'revoked', null])
    expect(t.connection.state).toBe('closed')
    expect(errors).toEqual(['UNAUTHORIZED'])
  })
})

describe('Connection liveness', () => {
  it('declares a silent WebSocket dead two heartbeats after the last frame, and reattaches', async () => {
    const t = setup()
    await t.open()
    await vi.advanceTimersByTimeAsync(1_500)
    t.server.socket.deliver([FrameType.PING])
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT_MS - 1)
    expect(t.connection.state).toBe('open')
    await vi.advanceTimersByTimeAsync(1)
    expect(t.states.at(-1)).toMatchObject({ from: 'open', to: 'backoff', code: 'TIMEOUT' })
    expect(t.server.socket.closedWith).toBe(1000)
    await vi.advanceTimersToNextTimerAsync()
    expect(t.server.sockets).toHaveLength(2)
  })
})

/** Ways to bring a connection to each state before close(). */
const REACH: Record<string, (t: ReturnType<typeof setup>) => Promise<ClientState>> = {
  'idle (never started)': async () => 'idle',
  'connecting (negotiate unanswered)': async (t) => {
    t.server.holdNegotiate = new Promise(() => {})
    t.connection.start()
    await settle()
    return 'connecting'
  },
  'connecting (WebSocket not yet open)': async (t) => {
    t.connection.start()
    await settle()
    return 'connecting'
  },
  open: async (t) => {
    await t.open()
    return 'open'
  },
  'open (on long polling, a WebSocket probe due)': async (t) => {
    t.connection.start()
    await settle()
    t.server.socket.drop() // WebSocket refused: long polling next
    await settle()
    expect(t.connection.transport).toBe('long-polling')
    return 'open'
  },
  'upgrading (probing WebSocket from long polling)': async (t) => {
    await REACH['open (on long polling, a WebSocket probe due)']?.(t)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(t.server.sockets).toHaveLength(2)
    return 'upgrading'
  },
  backoff: async (t) => {
    await t.open()
    t.server.socket.drop()
    return 'backoff'
  },
}

describe('Connection close()', () => {
  it.each(Object.entries(REACH))('from %s ends everything: no line, no timer, no later event', async (_, reach) => {
    const t = setup({ transports: ['websocket', 'long-polling'], upgrade: { delayMs: 1_000, maxDelayMs: 10_000 } })
    expect(await reach(t)).toBe(t.connection.state)
    const pending = t.call()
    t.connection.close()
    expect(t.connection.state).toBe('closed')
    expect(t.states.at(-1)).toMatchObject({ to: 'closed', reason: 'close() called' })
    await settle()
    expect(pending).toEqual({ code: 'CLOSED', settled: true })
    expect(t.connection.transport).toBeNull()
    expect(t.server.sockets.filter((s) => s.closedWith === undefined && s.readyState !== 3)).toEqual([])
    expect(t.server.held.filter((signal) => !signal.aborted)).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    const seen = t.states.length
    await vi.advanceTimersByTimeAsync(60_000)
    t.connection.close()
    expect(t.states).toHaveLength(seen)
  })

  it('from closed does nothing', async () => {
    const t = setup()
    t.connection.close()
    t.connection.close()
    expect(path(t.states)).toEqual(['closed'])
  })

  it('while negotiate is unanswered ignores its late answer', async () => {
    const t = setup()
    let release = () => {}
    t.server.holdNegotiate = new Promise<void>((resolve) => {
      release = () => resolve()
    })
    t.connection.start()
    await settle()
    t.connection.close()
    release()
    await settle()
    expect(t.server.sockets).toEqual([])
    expect(path(t.states)).toEqual(['connecting', 'closed'])
  })
})

/** What the far side of the line can do, one step at a time. */
const STEPS = {
  accept: (t) => t.server.sockets.at(-1)?.accept(),
  welcome: (t) => t.server.sockets.at(-1)?.deliver([FrameType.WELCOME, 0]),
  pong: (t) => t.server.sockets.at(-1)?.deliver([FrameType.PONG]), // answers a probe
  ping: (t) => t.server.sockets.at(-1)?.deliver([FrameType.PING]),
  drop: (t) => t.server.sockets.at(-1)?.drop(),
  forget: (t) => t.server.sockets.at(-1)?.drop(4006), // UNKNOWN_SESSION
  refuse: (t) => t.server.sockets.at(-1)?.drop(4004), // UNAUTHORIZED: fatal
  restart: (t) => t.server.sockets.at(-1)?.deliver([FrameType.CLOSE, 'SERVER_SHUTDOWN', 'restarting', 200]),
  close: (t) => t.connection.close(),
} satisfies Record<string, (t: ReturnType<typeof setup>) => void>

describe('Connection transition table', () => {
  itProp.prop(
    [fc.array(fc.oneof(fc.constantFrom(...(Object.keys(STEPS) as (keyof typeof STEPS)[])), fc.integer({ min: 0, max: 3_000 })), { maxLength: 40 })],
    { numRuns: 200 },
  )('is never broken, whatever the line does and whenever: every state event is a legal transition', async (steps) => {
    const t = setup({ transports: ['websocket', 'sse', 'long-polling'], upgrade: { delayMs: 500, maxDelayMs: 2_000 } })
    t.connection.start()
    await settle()
    for (const step of steps) {
      // A socket the client closed or that dropped hears nothing more.
      if (typeof step === 'number') await vi.advanceTimersByTimeAsync(step)
      else if (step === 'close' || (t.server.sockets.at(-1)?.readyState ?? 3) < 3) STEPS[step](t)
      await settle()
    }
    t.connection.close()
    expectLegal(t.states)
    expect(t.states.at(-1)?.to).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
  })
})
