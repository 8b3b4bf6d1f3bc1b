import type { SwitchboardClient, TransportName } from '@switchboard/client'
import { createSwitchboard, listen } from '@switchboard/server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'
import { deriveSeed, FAULT_SEED_ENV, faultSeed, mulberry32, startFaultProxy, type FaultProxyOptions } from './helpers/fault-proxy.js'

/**
 * Faults: a client streams numbered messages both ways through a proxy that resets connections
 * every 100-1000 ms, stalls lines (some long enough to be declared dead) and splits data into
 * small delayed chunks, on each forced transport and once while the WebSocket is blocked and
 * unblocked on a timer (so the session moves down and back up again and again). Every message
 * must arrive exactly once and in order: client -> server (seen by a second, direct client, and
 * echoed back) and server -> client.
 *
 * The faults come from a seeded PRNG. A failing run prints its seed; replay it with
 * `SWITCHBOARD_FAULT_SEED=<seed> npx vitest run test/faults.test.ts` (the proxy's and the gate's
 * choices repeat; the client's backoff jitter and the OS's timing do not).
 */
const SEED = faultSeed()
/** Messages each way per run. */
const COUNT = 20_000
/** Client publishes awaiting their ack at once. */
const IN_FLIGHT = 200
/** Server publishes ahead of what the client has received, so a long outage never overflows the replay buffer. */
const SERVER_AHEAD = 1_000
const SERVER_BATCH = 50
/** Streaming must finish within this, else the run fails with what it has. */
const STREAM_DEADLINE_MS = 90_000
const SETTLE_MS = 20_000
/** After the stream, how long a switching run may go on to reach its two upgrades and two downgrades. */
const SWITCH_WAIT_MS = 30_000

/**
 * Up to past the liveness deadlines (2 s: heartbeatMs * 2; 3 s for long polling: pollTimeoutMs +
 * heartbeatMs), and a stalled line is hung rather than reset, so some are declared dead.
 */
const STALL_MS = [200, 3_500] as const

const FAULTS: Omit<FaultProxyOptions, 'targetPort' | 'seed'> = {
  cutEveryMs: [100, 1_000],
  cutAllChance: 0.5,
  stallChance: 0.5,
  stallMs: STALL_MS,
  cutsSpareStalled: true,
  delayChance: 0.05,
  delayMs: [1, 10],
  chunkBytes: 64,
}

type Numbered = { from: 'client' | 'server'; n: number }
type Mode = TransportName | 'switching'
type Gate = { ws: boolean; sse: boolean }

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Wakes waiters whenever something they may wait on changed (a message, an ack, a state). */
class Signal {
  #waiters = new Set<() => void>()

  notify(): void {
    for (const check of [...this.#waiters]) check()
  }

  /** Resolves true once `cond()` holds (checked on every notify), false after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        this.#waiters.delete(check)
        clearTimeout(timer)
        resolve(ok)
      }
      const check = () => cond() && finish(true)
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => finish(cond()), timeoutMs)
      this.#waiters.add(check)
    })
  }
}

/** Lost, duplicated and reordered entries of what should be 0..COUNT-1. */
function tally(got: readonly number[]) {
  const seen = new Set<number>()
  let dup = 0
  let reordered = 0
  let max = -1
  for (const n of got) {
    if (seen.has(n)) dup++
    else {
      seen.add(n)
      if (n < max) reordered++
      else max = n
    }
  }
  const lost = Array.from({ length: COUNT }, (_, i) => i).filter((i) => !seen.has(i))
  return { lost: lost.length, dup, reordered, firstLost: lost.slice(0, 5) }
}

const fmt = (t: ReturnType<typeof tally>) => `${t.lost}/${t.dup}/${t.reordered}`

/** A server whose WebSocket and SSE endpoints a "proxy" in front can refuse (like test/upgrade.test.ts). */
async function startGatedServer(gate: Gate, onLog: (message: string) => void) {
  const sb = createSwitchboard({
    heartbeatMs: 1_000,
    pollTimeoutMs: 2_000,
    // Room for every frame of a run (messages, echoes, replies: 3 * COUNT) unacked at once. With
    // the default 10,000, a stalled upstream (acks held back) while the downstream runs at full
    // speed (~15,000 msgs/s on loopback) overflows in under a second and ends the session with
    // SLOW_CONSUMER: the bounded buffer working as designed, not what this test is about.
    replayBufferFrames: 4 * COUNT,
    replayBufferBytes: 32 * 1024 * 1024,
    logger: (e) => onLog(e.message),
  })
  sb.channel('room:*')
  const app = new Hono()
  app.get('/rt/ws', async (c, next) => (gate.ws ? next() : c.text('Upgrade refused by proxy', 403)))
  app.get('/rt/sse', async (c, next) => (gate.sse ? next() : c.text('Bad gateway', 502)))
  app.route('/rt', sb.app)
  const server = await listen(app)
  cleanups.push(async () => {
    await sb.close()
    await server.close()
  })
  return { sb, port: server.port, url: `${server.url}/rt` }
}

async function runUnderFaults(mode: Mode, runSeed: number) {
  const switching = mode === 'switching'
  const gate: Gate = { ws: true, sse: true }
  let serverGaps = 0
  const { sb, port, url } = await startGatedServer(gate, (message) => {
    if (message.startsWith('dropped frame')) serverGaps++
  })
  const proxy = await startFaultProxy({ targetPort: port, seed: runSeed, ...FAULTS })
  cleanups.push(() => proxy.close())

  let clientGaps = 0
  const client = connectClient(`${proxy.url}/rt`, switching ? undefined : mode, {
    attemptTimeoutMs: 1_500,
    reconnect: { baseMs: 20, maxMs: 200 },
    rememberTransportMs: 0,
    upgrade: switching ? { delayMs: 100, maxDelayMs: 300 } : false,
    logger: (e) => {
      if (e.message.startsWith('dropped server frame')) clientGaps++
    },
  })
  const observer = connectClient(url, 'websocket', { rememberTransportMs: 0 })
  const clients: SwitchboardClient[] = [client, observer]
  cleanups.push(() => {
    for (const c of clients) c.close()
  })

  const signal = new Signal()
  const errors: string[] = []
  const fail = (message: string) => {
    errors.push(message)
    signal.notify()
  }
  const stats = { attaches: 0, switches: 0, upgrades: 0, downgrades: 0, probeUpgrades: 0, resumes: 0, sessionsLost: 0, deadLines: 0 }
  const path: TransportName[] = []
  client.on('transport', ({ to, reason }) => {
    if (to === null) return
    const last = path[path.length - 1]
    path.push(to)
    stats.attaches++
    if (reason === 'upgrade') stats.probeUpgrades++
    if (last === undefined || last === to) return
    stats.switches++
    if (to === 'websocket') stats.upgrades++
    else if (last === 'websocket') stats.downgrades++
    signal.notify()
  })
  client.on('session', ({ resumed, reason }) => {
    if (resumed) stats.resumes++
    else {
      stats.sessionsLost++
      fail(`session lost (${reason})`)
    }
  })
  client.on('state', ({ to, reason }) => {
    if (to === 'backoff' && reason.startsWith('nothing received')) stats.deadLines++
    if (to === 'closed') fail(`client closed: ${reason}`)
    signal.notify()
  })

  const channel = `room:faults-${mode}`
  const fromServer: number[] = []
  const echoed: number[] = []
  const observed: number[] = []
  client.channel<Numbered>(channel).on('message', ({ data }) => {
    ;(data.from === 'server' ? fromServer : echoed).push(data.n)
    signal.notify()
  })
  observer.channel<Numbered>(channel).on('message', ({ data }) => {
    if (data.from === 'client') observed.push(data.n)
    signal.notify()
  })
  for (const c of clients) c.channel(channel).on('error', (e) => fail(`channel error: ${e.code}`))

  // The gate: WebSocket refused about half the time, SSE now and then, changing every 0.2-1.2 s.
  let gateTimer: ReturnType<typeof setTimeout> | undefined
  if (switching) {
    const random = mulberry32(deriveSeed(runSeed, 1_000_000))
    const toggle = () => {
      gate.ws = random() < 0.5
      gate.sse = random() < 0.7
      gateTimer = setTimeout(toggle, 200 + Math.floor(random() * 1_000))
    }
    toggle()
    cleanups.push(() => clearTimeout(gateTimer))
  }

  const started = performance.now()
  const deadline = started + STREAM_DEADLINE_MS
  const stop = () => errors.length > 0 || performance.now() > deadline
  const room = client.channel<Numbered>(channel)
  await Promise.all([room.subscribe(), observer.channel(channel).subscribe()])

  // A run whose schedule has stalled no line by half the stream (a fast one, whose short-lived
  // connections were cut before their stall came) stalls the open ones there, for a time drawn
  // from the same range: every run is meant to go through a stall, and whether the schedule's
  // came in time is timing. Tried again every 1,000 messages while no connection is open.
  const stallRandom = mulberry32(deriveSeed(runSeed, 2_000_000))
  let forcedStalls = 0
  const stallIfNoneYet = (n: number) => {
    if (n < COUNT / 2 || n % 1_000 !== 0 || forcedStalls > 0 || proxy.counters.stalls > 0) return
    forcedStalls = proxy.stallAll(STALL_MS[0] + Math.floor(stallRandom() * (STALL_MS[1] - STALL_MS[0])))
  }

  // client -> server: pipelined publishes, at most IN_FLIGHT awaiting their ack.
  let inFlight = 0
  let acked = 0
  const up = (async () => {
    for (let n = 0; n < COUNT && !stop(); n++) {
      stallIfNoneYet(n)
      if (inFlight >= IN_FLIGHT) await signal.until(() => inFlight < IN_FLIGHT || stop(), deadline - performance.now())
      inFlight++
      room
        .publish({ from: 'client', n })
        .then(
          () => acked++,
          (e: { code?: string; message?: string }) => fail(`publish ${n} rejected: ${e.code ?? e.message}`),
        )
        .finally(() => {
          inFlight--
          signal.notify()
        })
      if (n % 100 === 99) await new Promise((r) => setImmediate(r))
    }
    await signal.until(() => inFlight === 0 || stop(), deadline - performance.now())
  })()
  // server -> client: batches of publishes, at most SERVER_AHEAD ahead of what the client holds.
  let published = 0
  const down = (async () => {
    while (published < COUNT && !stop()) {
      if (published - fromServer.length >= SERVER_AHEAD)
        await signal.until(() => published - fromServer.length < SERVER_AHEAD / 2 || stop(), deadline - performance.now())
      for (const end = Math.min(COUNT, published + SERVER_BATCH); published < end; published++) {
        sb.publish(channel, { from: 'server', n: published } satisfies Numbered).catch((e: Error) => fail(`sb.publish: ${e.message}`))
      }
      await new Promise((r) => setImmediate(r))
    }
  })()
  await Promise.all([up, down])
  const streamedMs = performance.now() - started
  // A stream that ended before the gate had moved the line both ways twice (a fast run, or one
  // whose gate stayed put) goes on under the same faults, with no new messages, until it has:
  // the run is meant to switch repeatedly, and how many times it did within the stream is timing.
  if (switching) await signal.until(() => (stats.upgrades >= 2 && stats.downgrades >= 2) || errors.length > 0, SWITCH_WAIT_MS)

  // Everything was sent under faults; now let the line heal and the last messages land.
  proxy.pause()
  clearTimeout(gateTimer)
  gate.ws = true
  gate.sse = true
  const complete = () => fromServer.length >= COUNT && echoed.length >= COUNT && observed.length >= COUNT
  await signal.until(() => complete() || errors.length > 0, SETTLE_MS)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)

  const result = { down: tally(fromServer), echo: tally(echoed), up: tally(observed) }
  const f = proxy.counters
  const label = switching ? 'switching' : mode
  console.log(
    `faults over ${label.padEnd(12)} ${FAULT_SEED_ENV}=${SEED} (run seed ${runSeed}): ${COUNT} msgs each way ` +
      `(${published} published, ${acked} publishes acked) in ${seconds} s (streaming ${(streamedMs / 1000).toFixed(1)} s); ` +
      `${f.cuts} cuts (${f.connectionsCut} of ${f.connections} connections reset), ${f.stalls} stalls (and ${forcedStalls} at half the stream), ` +
      `${f.delayedChunks} delayed chunks, ` +
      `${stats.deadLines} lines declared dead; ${stats.switches} transport switches (${stats.upgrades} up, ${stats.downgrades} down, ` +
      `${stats.probeUpgrades} by probe), ${stats.attaches} attaches, ${stats.resumes} resumes, ${stats.sessionsLost} sessions lost, ` +
      `seq gaps client/server ${clientGaps}/${serverGaps}; ` +
      `lost/dup/reordered: client->server ${fmt(result.up)}, echo ${fmt(result.echo)}, server->client ${fmt(result.down)}`,
  )
  if (errors.length > 0 || !complete())
    console.log(`faults over ${label}: errors ${JSON.stringify(errors.slice(0, 10))}; path ${path.slice(-20).join(' ')}`)

  expect(errors).toEqual([])
  expect({ acked, published }).toEqual({ acked: COUNT, published: COUNT })
  const clean = { lost: 0, dup: 0, reordered: 0, firstLost: [] }
  expect(result).toEqual({ down: clean, echo: clean, up: clean })
  expect(stats.sessionsLost).toBe(0)
  expect(f.cuts).toBeGreaterThanOrEqual(10)
  expect(f.stalls + forcedStalls).toBeGreaterThanOrEqual(1)
  expect(f.delayedChunks).toBeGreaterThan(0)
  if (switching) {
    expect(stats.upgrades).toBeGreaterThanOrEqual(2)
    expect(stats.downgrades).toBeGreaterThanOrEqual(2)
  } else {
    expect(new Set(path)).toEqual(new Set([mode]))
  }
}

const RUNS: Mode[] = ['websocket', 'sse', 'long-polling', 'switching']

describe(`no message lost, duplicated or reordered under faults (replay: ${FAULT_SEED_ENV}=${SEED})`, () => {
  it.each(RUNS.map((mode, i) => [mode, deriveSeed(SEED, i)] as const))(
    'streams %s both ways exactly once and in order through cuts, stalls and delays (run seed %i)',
    async (mode, runSeed) => runUnderFaults(mode, runSeed),
    120_000,
  )
})
