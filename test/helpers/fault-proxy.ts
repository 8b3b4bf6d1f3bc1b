import net from 'node:net'
import { closeServer, listenOnLoopback } from './sockets.js'
import { resetSocket as reset } from './tcp-proxy.js'

/**
 * A TCP proxy that injects faults between a client and a server, driven by a seeded PRNG so a
 * failing run can be replayed: cuts (resets), stalls (a hung line that later resumes) and
 * delays (data split into small chunks, each held back a little, order kept).
 *
 * Determinism: the cut schedule comes from its own PRNG stream, and each connection (numbered in
 * accept order) gets its own streams for stalls and for each direction's fragmentation, the latter
 * drawn per byte offset, not per TCP read. So the same seed gives the same cut times and, for the
 * same bytes on the same connection number, the same chunks, delays and stalls. Whatever the
 * endpoints decide from wall-clock time (backoff jitter, timeouts) is outside the proxy's reach.
 */

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Seed of sub-stream `stream` of `seed` (a murmur3 finaliser), so streams do not overlap. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export const FAULT_SEED_ENV = 'SWITCHBOARD_FAULT_SEED'

/** The seed from `SWITCHBOARD_FAULT_SEED` (decimal or 0x hex) to replay a run, else a fresh random one. */
export function faultSeed(env: string | undefined = process.env[FAULT_SEED_ENV]): number {
  if (env === undefined || env.trim() === '') return Math.floor(Math.random() * 2 ** 32) >>> 0
  const seed = Number(env.trim())
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new TypeError(`${FAULT_SEED_ENV}=${env} is not a 32-bit unsigned integer`)
  return seed
}

/** Uniform in [min, max], rounded to whole milliseconds/bytes. */
function between(random: () => number, [min, max]: readonly [number, number]): number {
  return Math.round(min + random() * (max - min))
}

export type Direction = 'up' | 'down'
export type StallDirection = Direction | 'both'

/** What the proxy decided and did, for a replay or a failure report. `atMs` is since the proxy started. */
export type FaultEvent =
  /** Cut number `n`: planned `gapMs` after the previous one; `conns` are the connections it reset (none while paused). */
  | { kind: 'cut'; atMs: number; n: number; gapMs: number; all: boolean; pick: number; conns: number[] }
  /** Connection `conn` stalls `ms` in `dir`, `startMs` into its `window`-th second (skipped while paused). */
  | { kind: 'stall'; atMs: number; conn: number; window: number; dir: StallDirection; startMs: number; ms: number }
  /** Bytes `offset`..`offset + bytes` of `conn`'s `dir` direction go as one chunk held back `ms`. */
  | { kind: 'delay'; atMs: number; conn: number; dir: Direction; offset: number; bytes: number; ms: number }
  | { kind: 'open'; atMs: number; conn: number }

export interface FaultProxyOptions {
  targetPort: number
  targetHost?: string
  /** Seeds every random choice; print it with a failure so the run can be replayed. */
  seed: number
  /** A cut every [min, max] ms (uniform). Default: no scheduled cuts. */
  cutEveryMs?: readonly [number, number]
  /** Chance that a cut resets every open connection rather than one picked at random. Default 0.5. */
  cutAllChance?: number
  /** Chance, per connection and per second of its life, that it stalls. Default 0. */
  stallChance?: number
  /** How long a stall lasts. Default [100, 1000]. */
  stallMs?: readonly [number, number]
  /**
   * A stalled connection is hung, not reset: scheduled cuts skip it until its stall ends, so a
   * stall can outlast a peer's liveness deadline even with frequent cuts. Default false.
   */
  cutsSpareStalled?: boolean
  /**
   * Chance, per forwarded segment (up to 4 KiB), that the next few chunks (1..8 of 1..chunkBytes bytes each)
   * are split off and each held back by delayMs. Default 0.
   */
  delayChance?: number
  /** Hold-back of one delayed chunk. Default [0, 10]. */
  delayMs?: readonly [number, number]
  /** Largest delayed chunk. Default 64. */
  chunkBytes?: number
}

export interface FaultCounters {
  /** Connections accepted. */
  connections: number
  /** Cuts that reset at least one connection. */
  cuts: number
  /** Connections reset by cuts (a cut of every connection counts each). */
  connectionsCut: number
  /** Stalls started (a stall of both directions counts once). */
  stalls: number
  /** Chunks that were held back before being forwarded. */
  delayedChunks: number
}

export interface FaultProxy {
  readonly port: number
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly seed: number
  /** Connection pairs open right now. */
  readonly openConnections: number
  /** A snapshot of the counters. */
  readonly counters: FaultCounters
  /** The most recent decisions (at least the last 10,000), oldest first. */
  readonly events: readonly FaultEvent[]
  readonly paused: boolean
  /**
   * Stops injecting faults: no cuts or new stalls, stalls in progress end, held-back chunks go at
   * once. The PRNG streams keep being drawn, so resume() continues the same schedule.
   */
  pause(): void
  resume(): void
  /** Resets every open connection now (not counted as a scheduled cut); returns how many. */
  cutAll(): number
  /** Stalls every open connection for `ms` now (in `dir`), even while paused; returns how many. */
  stallAll(ms: number, dir?: StallDirection): number
  /** `SWITCHBOARD_FAULT_SEED=… ; cuts …, stalls …` for a test's output. */
  summary(): string
  /** Stops the schedule, resets every open connection and stops listening. */
  close(): Promise<void>
}

const EVENT_LIMIT = 10_000
/** Longest segment forwarded in one piece when not delayed. */
const PASS_BYTES = 4 * 1024
/** Stop reading a source with this much queued for its destination; read again below the low mark. */
const HIGH_WATER_BYTES = 256 * 1024
const LOW_WATER_BYTES = 64 * 1024
/** A connection's stall chance is drawn once per window of this length. */
const STALL_WINDOW_MS = 1_000

interface Piece {
  buf: Buffer
  /** Hold-back before this piece is written; 0 for none. */
  delayMs: number
}

interface Shared {
  readonly paused: boolean
  counters: FaultCounters
  log(event: FaultEvent): void
  chunkBytes: number
  delayChance: number
  delayMs: readonly [number, number]
}

/**
 * One direction of one connection: reads `source`, cuts the byte stream into seeded segments,
 * and writes them to `dest` in order, honouring hold-backs, stalls and the destination's backpressure.
 */
class Pipe {
  readonly dir: Direction
  #conn: number
  #source: net.Socket
  #dest: net.Socket
  #shared: Shared
  #random: () => number
  #queue: Piece[] = []
  #queued = 0
  /** Waiting for a hold-back timer or a drain: the head may not be written yet. */
  #busy = false
  #delayTimer: ReturnType<typeof setTimeout> | undefined
  #stallUntil = 0
  #stallTimer: ReturnType<typeof setTimeout> | undefined
  #ended = false
  #endSent = false
  /** Bytes of the stream seen so far, and what is left of the current segment. */
  #offset = 0
  #segmentLeft = 0
  #segmentDelayMs = 0
  #segmentFresh = false
  #episodeLeft = 0

  constructor(conn: number, dir: Direction, source: net.Socket, dest: net.Socket, seed: number, shared: Shared) {
    this.#conn = conn
    this.dir = dir
    this.#source = source
    this.#dest = dest
    this.#shared = shared
    this.#random = mulberry32(seed)
    source.on('data', (chunk: Buffer) => this.#onData(chunk))
    source.on('end', () => {
      this.#ended = true
      this.pump()
    })
  }

  get stalled(): boolean {
    return this.#stallUntil > 0
  }

  stall(ms: number): void {
    const until = Date.now() + ms
    if (until <= this.#stallUntil) return
    this.#stallUntil = until
    clearTimeout(this.#stallTimer)
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined
      this.#stallUntil = 0
      this.pump()
    }, ms)
    this.#applyFlow()
  }

  /** Ends a stall and any hold-back in progress (pause()). */
  release(): void {
    clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
    this.#stallUntil = 0
    if (this.#delayTimer !== undefined) {
      clearTimeout(this.#delayTimer)
      this.#delayTimer = undefined
      this.#busy = false
    }
    this.pump()
  }

  dispose(): void {
    clearTimeout(this.#stallTimer)
    clearTimeout(this.#delayTimer)
    this.#queue = []
    this.#queued = 0
  }

  /** The next segment of the stream: a pass-through run, or one chunk of a delay episode. */
  #nextSegment(): void {
    const random = this.#random
    const s = this.#shared
    this.#segmentFresh = true
    if (this.#episodeLeft > 0) {
      this.#episodeLeft--
      this.#segmentLeft = 1 + Math.floor(random() * s.chunkBytes)
      this.#segmentDelayMs = between(random, s.delayMs)
      return
    }
    if (random() < s.delayChance) {
      this.#episodeLeft = Math.floor(random() * 8)
      this.#segmentLeft = 1 + Math.floor(random() * s.chunkBytes)
      this.#segmentDelayMs = between(random, s.delayMs)
      return
    }
    this.#segmentLeft = 1 + Math.floor(random() * PASS_BYTES)
    this.#segmentDelayMs = -1
  }

  #onData(chunk: Buffer): void {
    let pos = 0
    while (pos < chunk.length) {
      if (this.#segmentLeft === 0) this.#nextSegment()
      const n = Math.min(this.#segmentLeft, chunk.length - pos)
      let delayMs = 0
      if (this.#segmentFresh) {
        this.#segmentFresh = false
        if (this.#segmentDelayMs >= 0) {
          // A delayed chunk is forwarded on its own even at 0 ms: the receiver sees the split.
          delayMs = Math.max(this.#segmentDelayMs, 0.001)
          this.#shared.log({
            kind: 'delay',
            atMs: 0,
            conn: this.#conn,
            dir: this.dir,
            offset: this.#offset,
            bytes: this.#segmentLeft,
            ms: this.#segmentDelayMs,
          })
        }
      }
      this.#queue.push({ buf: chunk.subarray(pos, pos + n), delayMs })
      this.#queued += n
      this.#segmentLeft -= n
      this.#offset += n
      pos += n
    }
    this.pump()
  }

  pump(): void {
    while (!this.#busy && !this.stalled && this.#queue.length > 0) {
      if (this.#dest.destroyed) return this.dispose()
      const head = this.#queue[0]!
      if (head.delayMs > 0) {
        if (this.#shared.paused) head.delayMs = 0
        else {
          this.#busy = true
          this.#delayTimer = setTimeout(() => {
            this.#delayTimer = undefined
            this.#busy = false
            head.delayMs = 0
            this.#shared.counters.delayedChunks++
            this.pump()
          }, Math.round(head.delayMs))
          break
        }
      }
      this.#queue.shift()
      this.#queued -= head.buf.length
      if (!this.#dest.write(head.buf)) {
        this.#busy = true
        this.#dest.once('drain', () => {
          this.#busy = false
          this.pump()
        })
        break
      }
    }
    if (this.#queue.length === 0 && this.#ended && !this.#endSent && !this.#dest.destroyed) {
      this.#endSent = true
      this.#dest.end()
    }
    this.#applyFlow()
  }

  /** A hung proxy stops reading too: the sender feels it as TCP backpressure. */
  #applyFlow(): void {
    if (this.#source.destroyed) return
    const hold = this.stalled || this.#queued > HIGH_WATER_BYTES
    if (hold && !this.#source.isPaused()) this.#source.pause()
    else if (!hold && this.#source.isPaused() && this.#queued <= LOW_WATER_BYTES) this.#source.resume()
  }
}

interface Pair {
  id: number
  client: net.Socket
  upstream: net.Socket
  up: Pipe
  down: Pipe
  stallTimer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Starts a fault-injecting TCP proxy on 127.0.0.1, port 0, forwarding to `targetHost:targetPort`.
 * @example
 * const proxy = await startFaultProxy({ targetPort: server.port, seed, cutEveryMs: [100, 1000], stallChance: 0.2 })
 * const client = connect(`${proxy.url}/rt`)
 * // ... on failure: console.log(proxy.summary())
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1'
  const seed = options.seed >>> 0
  const cutAllChance = options.cutAllChance ?? 0.5
  const stallChance = options.stallChance ?? 0
  const stallMs = options.stallMs ?? [100, 1_000]
  const started = Date.now()
  const pairs = new Set<Pair>()
  const events: FaultEvent[] = []
  let paused = false
  let closing = false
  let nextId = 0

  const shared: Shared = {
    get paused() {
      return paused
    },
    counters: { connections: 0, cuts: 0, connectionsCut: 0, stalls: 0, delayedChunks: 0 },
    log(event) {
      event.atMs = Date.now() - started
      events.push(event)
      if (events.length >= 2 * EVENT_LIMIT) events.splice(0, events.length - EVENT_LIMIT)
    },
    chunkBytes: Math.max(1, Math.floor(options.chunkBytes ?? 64)),
    delayChance: options.delayChance ?? 0,
    delayMs: options.delayMs ?? [0, 10],
  }
  const counters = shared.counters

  const cutPair = (pair: Pair): number => {
    pairs.delete(pair)
    clearTimeout(pair.stallTimer)
    pair.up.dispose()
    pair.down.dispose()
    reset(pair.client)
    reset(pair.upstream)
    return pair.id
  }

  const stallPair = (pair: Pair, dir: StallDirection, ms: number) => {
    if (dir !== 'down') pair.up.stall(ms)
    if (dir !== 'up') pair.down.stall(ms)
  }

  // Each second of a connection's life: draw whether it stalls, when, which way and how long.
  const scheduleStallWindow = (pair: Pair, random: () => number, window: number) => {
    const hit = random() < stallChance
    const startMs = Math.floor(random() * STALL_WINDOW_MS)
    const d = random()
    const dir: StallDirection = d < 1 / 3 ? 'up' : d < 2 / 3 ? 'down' : 'both'
    const ms = between(random, stallMs)
    if (!hit) {
      pair.stallTimer = setTimeout(() => scheduleStallWindow(pair, random, window + 1), STALL_WINDOW_MS)
      return
    }
    shared.log({ kind: 'stall', atMs: 0, conn: pair.id, window, dir, startMs, ms })
    pair.stallTimer = setTimeout(() => {
      if (!paused) {
        counters.stalls++
        stallPair(pair, dir, ms)
      }
      pair.stallTimer = setTimeout(() => scheduleStallWindow(pair, random, window + 1), ms)
    }, startMs)
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (closing) return reset(client)
    const id = nextId++
    counters.connections++
    const upstream = net.connect({ port: options.targetPort, host: targetHost, allowHalfOpen: true })
    const connSeed = deriveSeed(seed, 1 + id)
    const pair: Pair = {
      id,
      client,
      upstream,
      up: new Pipe(id, 'up', client, upstream, deriveSeed(connSeed, 1), shared),
      down: new Pipe(id, 'down', upstream, client, deriveSeed(connSeed, 2), shared),
      stallTimer: undefined,
    }
    pairs.add(pair)
    shared.log({ kind: 'open', atMs: 0, conn: id })
    if (stallChance > 0) scheduleStallWindow(pair, mulberry32(deriveSeed(connSeed, 3)), 0)

    // Resets are expected: every socket has an error listener, and an error on one side resets the other.
    client.on('error', () => reset(upstream))
    upstream.on('error', () => reset(client))
    const forget = () => {
      if (!client.destroyed || !upstream.destroyed) return
      pairs.delete(pair)
      clearTimeout(pair.stallTimer)
      pair.up.dispose()
      pair.down.dispose()
    }
    // A clean close needs both directions ended, each passed on by its pipe once flushed.
    client.on('close', forget)
    upstream.on('close', forget)
  })

  const port = await listenOnLoopback(server)

  const cutRandom = mulberry32(deriveSeed(seed, 0))
  let cutTimer: ReturnType<typeof setTimeout> | undefined
  let cutNumber = 0
  const scheduleCut = () => {
    const every = options.cutEveryMs
    if (!every || closing) return
    const gapMs = between(cutRandom, every)
    const all = cutRandom() < cutAllChance
    const pick = cutRandom()
    cutTimer = setTimeout(() => {
      let conns: number[] = []
      if (!paused) {
        const open = [...pairs].filter((p) => !(options.cutsSpareStalled && (p.up.stalled || p.down.stalled))) // accept order
        const targets = all ? open : open.length > 0 ? [open[Math.floor(pick * open.length)]!] : []
        conns = targets.map(cutPair)
        if (conns.length > 0) {
          counters.cuts++
          counters.connectionsCut += conns.length
        }
      }
      shared.log({ kind: 'cut', atMs: 0, n: cutNumber++, gapMs, all, pick, conns })
      scheduleCut()
    }, gapMs)
  }
  scheduleCut()

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seed,
    get openConnections() {
      return pairs.size
    },
    get counters() {
      return { ...counters }
    },
    events,
    get paused() {
      return paused
    },
    pause() {
      paused = true
      for (const pair of pairs) {
        pair.up.release()
        pair.down.release()
      }
    },
    resume() {
      paused = false
    },
    cutAll: () => [...pairs].map(cutPair).length,
    stallAll(ms, dir = 'both') {
      for (const pair of pairs) stallPair(pair, dir, ms)
      return pairs.size
    },
    summary() {
      const c = counters
      return (
        `${FAULT_SEED_ENV}=${seed}: ${c.connections} connections, ${c.cuts} cuts (${c.connectionsCut} connections reset), ` +
        `${c.stalls} stalls, ${c.delayedChunks} delayed chunks`
      )
    },
    async close() {
      closing = true
      clearTimeout(cutTimer)
      const sockets = [...pairs].flatMap((pair) => {
        cutPair(pair)
        return [pair.client, pair.upstream]
      })
      await closeServer(server, sockets)
    },
  }
}
