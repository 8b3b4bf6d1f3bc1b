import { connect, type ClientOptions, type SwitchboardClient, type TransportName } from '@switchboard/client'
import { createSwitchboard, listen, SwitchboardError, type Listening, type Switchboard, type SwitchboardOptions } from '@switchboard/server'
import { Hono } from 'hono'
import { WebSocket } from 'ws'

export interface ChatMessage {
  user: string
  text: string
}

export interface TestServer {
  sb: Switchboard<{ user: string } | null>
  app: Hono
  /** Where Switchboard is mounted: `http://127.0.0.1:PORT/rt`. */
  url: string
  /** The server's root: `http://127.0.0.1:PORT`. */
  origin: string
  port: number
  /** The Node HTTP server (its 'connection' events see every socket, WebSockets included). */
  http: Listening['server']
  close(): Promise<void>
}

/**
 * A real server on 127.0.0.1, port 0, with the channels and methods the suites use:
 * `room:*` (history 100), `log:*` (history 20,000), `private:*` (authorize refuses), `news` (server-only publish),
 * `checked:*` (onPublish rejects `{ bad: true }`), RPCs `echo`, `add`, `repeat`, `fail`, `crash`, `failLater`,
 * `crashLater` (async rejections), `slow`, handlers whose results JSON cannot encode, `shaped:*`
 * (onPublish returns a BigInt),
 * and a REST route `POST /api/announce` that publishes from an ordinary Hono handler.
 */
export async function startServer(options: SwitchboardOptions<{ user: string } | null> = {}, port = 0): Promise<TestServer> {
  const sb = createSwitchboard<{ user: string } | null>(options)
  sb.channel<ChatMessage>('room:*', { historySize: 100 })
    .channel('log:*', { historySize: 20_000 })
    .channel('private:*', { authorize: () => false })
    .channel('news', { clientPublish: false })
    .channel('checked:*', {
      onPublish: (data) => {
        if ((data as { bad?: boolean }).bad) throw new SwitchboardError('FORBIDDEN', 'bad message')
        return { ...(data as object), checked: true }
      },
    })
    .rpc<unknown, unknown>('echo', (data) => data)
    .rpc<{ a: number; b: number }, number>('add', ({ a, b }) => a + b)
    .rpc('fail', () => {
      throw new SwitchboardError('RPC_ERROR', 'nope', { data: { why: 'testing' } })
    })
    .rpc('crash', () => {
      throw new Error('secret internal detail')
    })
    .rpc('failLater', async () => {
      await new Promise((r) => setTimeout(r, 5))
      throw new SwitchboardError('FORBIDDEN', 'not now', { data: { why: 'async' } })
    })
    .rpc('crashLater', () => Promise.reject(new Error('secret async detail')))
    .rpc<{ text: string; times: number }, string>('repeat', ({ text, times }) => text.repeat(times))
    .rpc<{ ms: number }, string>('slow', ({ ms }) => new Promise((r) => setTimeout(() => r('done'), ms)))
    .rpc('whoami', (_data, ctx) => ctx.identity)
    // Handlers whose outcome JSON cannot carry: each is answered to its caller alone (hostile-input.test).
    .rpc('echoLater', async (data) => data)
    .rpc('bigintLater', async () => 10n)
    .rpc('cycleLater', async () => {
      const o: { self?: unknown } = {}
      o.self = o
      return o
    })
    .rpc('failWithBigintLater', async () => {
      throw new SwitchboardError('FORBIDDEN', 'not you', { data: { n: 1n } })
    })
    .rpc('failWithUnknownCode', () => {
      throw new SwitchboardError('NO_SUCH_CODE' as never, 'made up')
    })
    .channel('shaped:*', { onPublish: () => ({ n: 1n }) })

  const app = new Hono()
  app.route('/rt', sb.app)
  app.post('/api/announce', async (c) => {
    const body = await c.req.json<{ channel: string; data: unknown }>()
    const offset = await sb.publish(body.channel, body.data)
    return c.json({ offset })
  })
  const server = await listen(app, { port })
  return {
    sb,
    app,
    url: `${server.url}/rt`,
    origin: server.url,
    port: server.port,
    http: server.server,
    async close() {
      // Tests close their clients first: no long-polling client will come for the shutdown notice.
      await sb.close({ drainTimeoutMs: 0 })
      await server.close()
    },
  }
}

/** A Node client (with `ws` as its WebSocket) forced onto one transport. */
export function connectClient(url: string, transport?: TransportName, options: ClientOptions = {}): SwitchboardClient {
  return connect(url, {
    WebSocket: WebSocket as unknown as ClientOptions['WebSocket'],
    ...(transport ? { transports: [transport] } : {}),
    attemptTimeoutMs: 3_000,
    reconnect: { baseMs: 50, maxMs: 500 },
    ...options,
  })
}

/** Collects a channel's messages into an array. */
export function collect<T>(client: SwitchboardClient, channel: string): T[] {
  const seen: T[] = []
  client.channel<T>(channel).on('message', (m) => seen.push(m.data))
  return seen
}

/**
 * Every transport, and the HTTP ones a second time over fetch: in Node the client's HTTP goes over
 * node:http by default; fetch is what browsers use (and Node with `fetch` given).
 * Each case: [transport, label suffix, client options].
 */
export const TRANSPORT_CASES = [
  ['websocket', '', {}],
  ['sse', '', {}],
  ['long-polling', '', {}],
  ['sse', ' with fetch', { fetch: globalThis.fetch }],
  ['long-polling', ' with fetch', { fetch: globalThis.fetch }],
] as const satisfies readonly (readonly [TransportName, string, ClientOptions])[]
