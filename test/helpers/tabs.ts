// Tabs sharing one connection, simulated in Node: each "tab" is a client whose environment is
// Node's own BroadcastChannel and an in-process stand-in for Web Locks (Node 20 has none); the
// server is real and every line crosses loopback. Closing the leader tab is its client's close():
// its hub goes silent and its locks come free, as when a browser closes the tab (the browser test
// test/browser/tabs.test.ts closes real tabs).
import { SwitchboardClient, type ClientOptions, type SessionChange, type StateChange, type TransportName } from '@switchboard/client'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { WebSocket } from 'ws'
import { FakeLocks, fakeTabEnvironment } from '../../packages/client/src/tabs/environment.fakes.js'
import type { TabEnvironment } from '../../packages/client/src/tabs/environment.js'
import { startServer, type TestServer } from './fixture.js'

/** Opens simulated tabs on the server at `url()`; `closeAll()` after each test. */
export function tabHarness(url: () => string) {
  const open: SwitchboardClient[] = []
  let scopes = 0

  /** One tab: a client on `env`, recording its events. */
  function openTab(env: TabEnvironment, options: ClientOptions, at = url()) {
    class TabClient extends SwitchboardClient {
      protected static override tabEnvironment(): TabEnvironment {
        return env
      }
    }
    const client = new TabClient(at, {
      WebSocket: WebSocket as unknown as ClientOptions['WebSocket'],
      attemptTimeoutMs: 3_000,
      reconnect: { baseMs: 50, maxMs: 500 },
      rememberTransportMs: 0,
      ...options,
    })
    const states: StateChange[] = []
    const sessions: SessionChange[] = []
    const transports: (TransportName | null)[] = []
    client.on('state', (change) => states.push(change))
    client.on('session', (change) => sessions.push(change))
    client.on('transport', ({ to }) => transports.push(to))
    client.open()
    open.push(client)
    return { client, states, sessions, transports }
  }

  /** A fresh group: tabs made with it share with each other only. */
  function group(locks = new FakeLocks()) {
    const scope = `group-${++scopes}`
    const env = fakeTabEnvironment(locks)
    return { locks, env, scope, tab: (options: ClientOptions = {}) => openTab(env, { shareAcrossTabs: { scope }, ...options }) }
  }

  return {
    openTab,
    group,
    closeAll() {
      for (const client of open.splice(0)) client.close()
    },
  }
}

/** Subscribes every tab to `name` and collects `data` in arrival order, with offsets. */
export async function subscribeAll(tabs: { client: SwitchboardClient }[], name: string) {
  const seen = tabs.map(() => [] as { data: unknown; offset: number }[])
  await Promise.all(
    tabs.map(({ client }, i) => {
      const channel = client.channel(name)
      channel.on('message', ({ data, offset }) => seen[i]!.push({ data, offset }))
      return channel.subscribe()
    }),
  )
  return seen
}

/** For a test file: a server (startServer) for all its tests, and simulated tabs closed after each test. */
export function useTabServer() {
  let server: TestServer | undefined
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server?.close())
  const harness = tabHarness(() => server!.url)
  afterEach(harness.closeAll)
  return {
    ...harness,
    get server(): TestServer {
      return server!
    },
  }
}
