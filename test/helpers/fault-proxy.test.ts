import { once } from 'node:events'
import net from 'node:net'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { deriveSeed, faultSeed, mulberry32, startFaultProxy, type FaultEvent, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js'
import { startEchoServer, type EchoServer } from './echo-server.js'

interface Client {
  socket: net.Socket
  errors: NodeJS.ErrnoException[]
  /** How many 'data' events delivered the bytes. */
  reads: number
  read(bytes: number): Promise<Buffer>
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1')
  const errors: NodeJS.ErrnoException[] = []
  socket.on('error', (err) => errors.push(err))
  let received = Buffer.alloc(0)
  let waiter: { bytes: number; resolve: (b: Buffer) => void } | undefined
  const client: Client = {
    socket,
    errors,
    reads: 0,
    read: (bytes) =>
      new Promise((resolve) => {
        if (received.length >= bytes) resolve(received)
        else waiter = { bytes, resolve }
      }),
  }
  socket.on('data', (chunk: Buffer) => {
    client.reads++
    received = Buffer.concat([received, chunk])
    if (waiter && received.length >= waiter.bytes) {
      waiter.resolve(received)
      waiter = undefined
    }
  })
  await once(socket, 'connect')
  return client
}

const closed = (socket: net.Socket) => new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())))

function pattern(bytes: number): Buffer {
  const payload = Buffer.alloc(bytes)
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) % 251
  return payload
}

/** The decisions of a run without wall-clock times, for comparing two runs. */
function plan<K extends FaultEvent['kind']>(events: readonly FaultEvent[], kind: K): Omit<Extract<FaultEvent, { kind: K }>, 'atMs'>[] {
  return events
    .filter((e): e is Extract<FaultEvent, { kind: K }> => e.kind === kind)
    .map(({ atMs: _atMs, ...rest }) => rest as Omit<Extract<FaultEvent, { kind: K }>, 'atMs'>)
}

describe('mulberry32 and deriveSeed', () => {
  test('the same seed gives the same sequence, another seed a different one, all in [0, 1)', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(xs).size).toBe(1000)
  })

  test('sub-streams of one seed differ from each other and from another seed', () => {
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0))
    expect(new Set([deriveSeed(1, 0), deriveSeed(1, 1), deriveSeed(2, 0), deriveSeed(2, 1)]).size).toBe(4)
  })

  test('faultSeed reads SWITCHBOARD_FAULT_SEED (decimal or hex) and refuses junk', () => {
    expect(faultSeed('12345')).toBe(12345)
    expect(faultSeed('0xff')).toBe(255)
    expect(() => faultSeed('nope')).toThrow(/SWITCHBOARD_FAULT_SEED=nope/)
    expect(() => faultSeed('-1')).toThrow(TypeError)
    const fresh = faultSeed('')
    expect(Number.isInteger(fresh) && fresh >= 0 && fresh < 2 ** 32).toBe(true)
  })
})

describe('startFaultProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn()
  })

  async function setup(options: Omit<FaultProxyOptions, 'targetPort'>): Promise<{ echo: EchoServer; proxy: FaultProxy }> {
    const echo = await startEchoServer()
    cleanups.push(() => echo.close())
    const proxy = await startFaultProxy({ targetPort: echo.port, ...options })
    cleanups.push(() => proxy.close())
    return { echo, proxy }
  }

  async function client(proxy: FaultProxy): Promise<Client> {
    const c = await connect(proxy.port)
    cleanups.push(() => void c.socket.destroy())
    return c
  }

  test('forwards bytes intact and in order both ways while splitting them into small delayed chunks', async () => {
    const { proxy } = await setup({ seed: 7, delayChance: 0.5, delayMs: [0, 1], chunkBytes: 16 })
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`)
    const c = await client(proxy)
    const payload = pattern(128 * 1024)
    // Written in odd-sized pieces, so segment boundaries and write boundaries never line up.
    for (let i = 0; i < payload.length; i += 1_000 + (i % 777)) c.socket.write(payload.subarray(i, i + 1_000 + (i % 777)))
    const got = await c.read(3 + payload.length)
    expect(got.subarray(0, 3).toString()).toBe('hi:')
    expect(got.length).toBe(3 + payload.length)
    expect(got.subarray(3).equals(payload)).toBe(true)
    const { delayedChunks, connections } = proxy.counters
    expect(connections).toBe(1)
    expect(delayedChunks).toBeGreaterThan(100)
    expect(c.reads).toBeGreaterThan(100) // the client really saw the data in pieces
    const delays = proxy.events.filter((e): e is Extract<FaultEvent, { kind: 'delay' }> => e.kind === 'delay')
    expect(delays.every((e) => e.bytes >= 1 && e.bytes <= 16 && e.ms >= 0 && e.ms <= 1)).toBe(true)
    expect(new Set(delays.map((e) => e.dir))).toEqual(new Set(['up', 'down']))
  })

  test('a transfer much larger than the socket buffers and the proxy queue arrives whole', async () => {
    const { proxy } = await setup({ seed: 8, delayChance: 0.02, delayMs: [0, 1] })
    const c = await client(proxy)
    await c.read(3)
    const payload = pattern(3 * 1024 * 1024)
    c.socket.write(payload)
    const got = await c.read(3 + payload.length)
    expect(got.subarray(3).equals(payload)).toBe(true)
  })

  test('stallAll holds a direction back for the given time, then forwards everything', async () => {
    const { proxy } = await setup({ seed: 9 })
    const c = await client(proxy)
    await c.read(3)
    expect(proxy.stallAll(300, 'up')).toBe(1)
    const started = performance.now()
    c.socket.write('ping')
    const got = await c.read(7)
    expect(performance.now() - started).toBeGreaterThanOrEqual(280)
    expect(got.toString()).toBe('hi:ping')
    expect(proxy.counters.stalls).toBe(0) // manual stalls are not scheduled faults
  })

  test('stalls connections on its own schedule and resumes them without losing a byte', async () => {
    const { proxy } = await setup({ seed: 10, stallChance: 1, stallMs: [50, 150] })
    const c = await client(proxy)
    await c.read(3)
    await vi.waitFor(() => expect(proxy.counters.stalls).toBeGreaterThanOrEqual(1), { timeout: 3_000 })
    const payload = pattern(256 * 1024)
    c.socket.write(payload)
    const got = await c.read(3 + payload.length)
    expect(got.subarray(3).equals(payload)).toBe(true)
    const stalls = proxy.events.filter((e) => e.kind === 'stall')
    expect(stalls.length).toBeGreaterThanOrEqual(1)
    expect(stalls[0]).toMatchObject({ conn: 0, window: 0 })
  })

  test('a scheduled cut resets both the client and the server side of every connection', async () => {
    const { echo, proxy } = await setup({ seed: 11, cutEveryMs: [30, 60], cutAllChance: 1 })
    const a = await client(proxy)
    const b = await client(proxy)
    await Promise.all([a.read(3), b.read(3)])
    await vi.waitFor(() => expect(echo.accepted).toHaveLength(2))
    await Promise.all([a.socket, b.socket, ...echo.accepted].map(closed))
    expect(a.errors.map((e) => e.code)).toContain('ECONNRESET')
    expect(b.errors.map((e) => e.code)).toContain('ECONNRESET')
    expect(echo.errorCodes).toEqual(['ECONNRESET', 'ECONNRESET'])
    const cut = proxy.events.find((e): e is Extract<FaultEvent, { kind: 'cut' }> => e.kind === 'cut' && e.conns.length > 0)
    expect(cut).toMatchObject({ all: true, conns: [0, 1] })
    expect(proxy.counters).toMatchObject({ cuts: 1, connectionsCut: 2, connections: 2 })
  })

  test('a cut of one connection picks one at random and leaves the others working', async () => {
    const { proxy } = await setup({ seed: 12, cutEveryMs: [30, 60], cutAllChance: 0 })
    const a = await client(proxy)
    const b = await client(proxy)
    await Promise.all([a.read(3), b.read(3)])
    await vi.waitFor(() => expect(proxy.counters.cuts).toBe(1))
    proxy.pause()
    const [hit] = proxy.events.flatMap((e) => (e.kind === 'cut' ? e.conns : []))
    const [victim, survivor] = hit === 0 ? [a, b] : [b, a]
    await closed(victim.socket)
    expect(victim.errors.map((e) => e.code)).toContain('ECONNRESET')
    survivor.socket.write('still here')
    expect((await survivor.read(13)).toString()).toBe('hi:still here')
    expect(proxy.openConnections).toBe(1)
  })

  test('with cutsSpareStalled, scheduled cuts leave a stalled (hung) connection alone', async () => {
    const { proxy } = await setup({ seed: 16, cutEveryMs: [30, 60], cutAllChance: 1, cutsSpareStalled: true })
    proxy.pause()
    const hung = await client(proxy)
    await hung.read(3)
    proxy.stallAll(5_000)
    const other = await client(proxy)
    proxy.resume()
    await closed(other.socket)
    expect(other.errors.map((e) => e.code)).toContain('ECONNRESET')
    expect(hung.socket.destroyed).toBe(false)
    expect(proxy.openConnections).toBe(1)
    proxy.pause() // ends the stall
    hung.socket.write('back')
    expect((await hung.read(7)).toString()).toBe('hi:back')
  })

  test('pause() stops cuts (the schedule keeps running) and resume() starts them again', async () => {
    const { proxy } = await setup({ seed: 13, cutEveryMs: [20, 40], cutAllChance: 1 })
    proxy.pause()
    expect(proxy.paused).toBe(true)
    const c = await client(proxy)
    await c.read(3)
    const before = proxy.events.filter((e) => e.kind === 'cut').length
    await vi.waitFor(() => expect(proxy.events.filter((e) => e.kind === 'cut').length).toBeGreaterThanOrEqual(before + 3))
    c.socket.write('alive')
    expect((await c.read(8)).toString()).toBe('hi:alive')
    expect(proxy.counters.cuts).toBe(0)
    proxy.resume()
    await closed(c.socket)
    expect(proxy.counters.cuts).toBe(1)
    expect(c.errors.map((e) => e.code)).toContain('ECONNRESET')
  })

  test('pause() ends a stall in progress and lets held-back chunks go at once', async () => {
    const { proxy } = await setup({ seed: 14, delayChance: 1, delayMs: [5_000, 5_000], chunkBytes: 4 })
    const c = await client(proxy)
    const started = performance.now()
    await vi.waitFor(() => expect(proxy.events.some((e) => e.kind === 'delay')).toBe(true))
    proxy.stallAll(10_000)
    proxy.pause()
    c.socket.write('quick')
    expect((await c.read(8)).toString()).toBe('hi:quick')
    expect(performance.now() - started).toBeLessThan(4_000)
  })

  test('the same seed gives the same cut schedule, another seed a different one', async () => {
    const options = { cutEveryMs: [5, 15] as const, cutAllChance: 0.5 }
    const proxies = await Promise.all([1234, 1234, 4321].map(async (seed) => (await setup({ seed, ...options })).proxy))
    for (const p of proxies) await vi.waitFor(() => expect(p.events.filter((e) => e.kind === 'cut').length).toBeGreaterThanOrEqual(8))
    const [a, b, c] = proxies.map((p) => plan(p.events, 'cut').slice(0, 8))
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
    expect(a!.every((e) => e.kind === 'cut' && e.gapMs >= 5 && e.gapMs <= 15)).toBe(true)
  })

  test('the same seed splits, delays and stalls the same bytes the same way, however TCP delivers them', async () => {
    const options = { delayChance: 0.3, delayMs: [0, 2] as const, chunkBytes: 32, stallChance: 1, stallMs: [20, 40] as const }
    const payload = pattern(64 * 1024)
    const run = async (seed: number, pieceBytes: number) => {
      const { proxy } = await setup({ seed, ...options })
      const c = await client(proxy)
      for (let i = 0; i < payload.length; i += pieceBytes) c.socket.write(payload.subarray(i, i + pieceBytes))
      const got = await c.read(3 + payload.length)
      expect(got.subarray(3).equals(payload)).toBe(true)
      await vi.waitFor(() => expect(proxy.events.some((e) => e.kind === 'stall')).toBe(true), { timeout: 3_000 })
      const delays = plan(proxy.events, 'delay')
      return {
        up: delays.filter((e) => e.dir === 'up'),
        down: delays.filter((e) => e.dir === 'down'),
        firstStall: plan(proxy.events, 'stall')[0],
      }
    }
    const a = await run(99, 64 * 1024)
    const b = await run(99, 1_500) // same bytes, written in other pieces
    const c = await run(100, 64 * 1024)
    expect(a.up.length).toBeGreaterThan(10)
    expect(b).toEqual(a)
    expect(c.up).not.toEqual(a.up)
  })

  test('close() resets open connections and stops listening', async () => {
    const echo = await startEchoServer()
    cleanups.push(() => echo.close())
    const proxy = await startFaultProxy({ targetPort: echo.port, seed: 15, cutEveryMs: [1_000, 2_000], stallChance: 0.5 })
    const c = await connect(proxy.port)
    await c.read(3)
    await proxy.close()
    await closed(c.socket)
    expect(c.errors.map((e) => e.code)).toContain('ECONNRESET')
    const refused = net.connect(proxy.port, '127.0.0.1')
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
    expect(err.code).toBe('ECONNREFUSED')
    expect(proxy.summary()).toMatch(/^SWITCHBOARD_FAULT_SEED=15: 1 connections, 0 cuts/)
  })
})
