import { decodeServerBatch, FrameType, SwitchboardError, type ErrorCode, type ServerFrame } from '@switchboard/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resolveOptions, type SwitchboardOptions } from './options.js'
import { SessionRegistry } from './session-registry.js'
import type { ServerTransport } from './transports/transport.js'

const HEARTBEAT_MS = 1_000
const RECOVERY_MS = 4_000
/** The sweep's period for these options: a quarter of the heartbeat. */
const SWEEP_MS = 250

/** A WebSocket-like line in memory: records the frames written to it and how it was closed. */
class FakeLine implements ServerTransport {
  readonly name = 'websocket'
  readonly frames: ServerFrame[] = []
  writable = true
  closedWith: ErrorCode | null = null

  send(batch: string): boolean {
    this.frames.push(...decodeServerBatch(batch))
    return true
  }

  close(code: ErrorCode): void {
    this.closedWith ??= code
    this.writable = false
  }

  count(type: number): number {
    return this.frames.filter((f) => f[0] === type).length
  }
}

const registries: SessionRegistry[] = []

function createRegistry(options: SwitchboardOptions = {}) {
  const ended: ErrorCode[] = []
  const registry = new SessionRegistry(
    resolveOptions({ heartbeatMs: HEARTBEAT_MS, recoveryMs: RECOVERY_MS, ...options }),
    () => {},
    (_session, code) => ended.push(code),
  )
  registries.push(registry)
  return { registry, ended }
}

/** The code `fn` throws, which must be a SwitchboardError. */
function thrownCode(fn: () => unknown): ErrorCode | undefined {
  try {
    fn()
  } catch (e) {
    if (e instanceof SwitchboardError) return e.code
    throw e
  }
  return undefined
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  for (const registry of registries.splice(0)) registry.close()
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('SessionRegistry sessions', () => {
  it('creates sessions with unguessable ids and tokens up to maxSessions, then refuses with TOO_MANY_SESSIONS', () => {
    const { registry } = createRegistry({ maxSessions: 2 })
    const a = registry.createSession(null)
    const b = registry.createSession(null)
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(new Set([a.id, b.id, a.token, b.token]).size).toBe(4)
    expect(thrownCode(() => registry.createSession(null))).toBe('TOO_MANY_SESSIONS')
    a.end('SERVER_SHUTDOWN')
    expect(registry.createSession(null).id).not.toBe(a.id)
  })

  it('authorizes a session by its id and its own token only', () => {
    const { registry } = createRegistry()
    const a = registry.createSession(null)
    const b = registry.createSession(null)
    expect(registry.authorize(a.id, a.token)).toBe(a)
    expect(thrownCode(() => registry.authorize(a.id, b.token))).toBe('INVALID_TOKEN')
    expect(thrownCode(() => registry.authorize(a.id, `${a.token.slice(0, -1)}x`))).toBe('INVALID_TOKEN')
    expect(thrownCode(() => registry.authorize(a.id, undefined))).toBe('INVALID_TOKEN')
    expect(thrownCode(() => registry.authorize('nope', a.token))).toBe('UNKNOWN_SESSION')
    expect(thrownCode(() => registry.authorize(undefined, a.token))).toBe('UNKNOWN_SESSION')
  })

  it('answers UNKNOWN_SESSION for an ended session, whose final words only its token reaches', () => {
    const { registry, ended } = createRegistry()
    const a = registry.createSession(null)
    a.end('SLOW_CONSUMER', 0)
    expect(ended).toEqual(['SLOW_CONSUMER'])
    expect(thrownCode(() => registry.authorize(a.id, a.token))).toBe('UNKNOWN_SESSION')
    expect(registry.endedSession(a.id, a.token)?.closeFrame).toContain('"SLOW_CONSUMER"')
    expect(registry.endedSession(a.id, 'x'.repeat(32))).toBeUndefined()
  })
})

describe('SessionRegistry sweep', () => {
  it('pings a line heartbeatMs after its last ping, and not before', async () => {
    const { registry } = createRegistry()
    const line = new FakeLine()
    registry.createSession(null).attach(line, 0, true)
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS - SWEEP_MS)
    expect(line.count(FrameType.PING)).toBe(0)
    await vi.advanceTimersByTimeAsync(SWEEP_MS)
    expect(line.count(FrameType.PING)).toBe(1)
  })

  it('closes a line silent for twice heartbeatMs with TIMEOUT and keeps its session, detached', async () => {
    const { registry, ended } = createRegistry()
    const line = new FakeLine()
    const session = registry.createSession(null)
    session.attach(line, 0, true)
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT_MS)
    expect(line.closedWith).toBeNull()
    await vi.advanceTimersByTimeAsync(SWEEP_MS)
    expect(line.closedWith).toBe('TIMEOUT')
    expect(session.transport).toBeNull()
    expect(registry.sessions.get(session.id)).toBe(session)
    expect(ended).toEqual([])
  })

  it('ends a session detached for recoveryMs with SESSION_LOST', async () => {
    const { registry, ended } = createRegistry()
    const session = registry.createSession(null)
    await vi.advanceTimersByTimeAsync(RECOVERY_MS - SWEEP_MS)
    expect(registry.sessions.has(session.id)).toBe(true)
    await vi.advanceTimersByTimeAsync(SWEEP_MS)
    expect(registry.sessions.has(session.id)).toBe(false)
    expect(ended).toEqual(['SESSION_LOST'])
    expect(registry.endedSession(session.id, session.token)?.closeFrame).toContain('"SESSION_LOST"')
  })

  it("keeps ended sessions' final words for recoveryMs, then forgets them in the order they expire", async () => {
    const { registry } = createRegistry()
    const first = registry.createSession(null)
    const second = registry.createSession(null)
    first.end('SERVER_SHUTDOWN', 1_000)
    await vi.advanceTimersByTimeAsync(1_000)
    second.end('SERVER_SHUTDOWN', 1_000)
    const heard = () => [first, second].map((s) => registry.endedSession(s.id, s.token) !== undefined)
    await vi.advanceTimersByTimeAsync(RECOVERY_MS - 1_000 - SWEEP_MS)
    expect(heard()).toEqual([true, true])
    await vi.advanceTimersByTimeAsync(SWEEP_MS)
    expect(heard()).toEqual([false, true])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(heard()).toEqual([false, false])
  })

  it('keeps the final words of at most maxSessions ended sessions, forgetting the oldest first', () => {
    const { registry } = createRegistry({ maxSessions: 2 })
    const sessions = [1, 2, 3].map(() => {
      const session = registry.createSession(null)
      session.end('SERVER_SHUTDOWN')
      return session
    })
    expect(sessions.map((s) => registry.endedSession(s.id, s.token) !== undefined)).toEqual([false, true, true])
  })

  it('stops its sweep on close(): a detached session then outlives recoveryMs', async () => {
    const { registry, ended } = createRegistry()
    const session = registry.createSession(null)
    expect(vi.getTimerCount()).toBe(1)
    registry.close()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(2 * RECOVERY_MS)
    expect(registry.sessions.get(session.id)).toBe(session)
    expect(ended).toEqual([])
  })

  it('runs where timers are numbers with no unref (Deno, Workers), and clears its timer by that number', () => {
    const clear = vi.fn()
    vi.stubGlobal('setInterval', () => 7)
    vi.stubGlobal('clearInterval', clear)
    const { registry } = createRegistry()
    registry.close()
    expect(clear).toHaveBeenCalledWith(7)
  })
})
