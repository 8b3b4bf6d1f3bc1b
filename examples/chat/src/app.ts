import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { createSwitchboard, SwitchboardError, type Switchboard, type SwitchboardOptions } from '@switchboard/server'
import { Hono, type Context } from 'hono'

/** What travels on a `room:*` channel. */
export interface ChatMessage {
  name: string
  /** 1-500 characters. */
  text: string
  /** Server time (ms since epoch), set by the server. */
  at: number
  /** The node that handled the publish (`nodeName`), set by the server. */
  node?: string
}

export interface ChatAppOptions extends SwitchboardOptions<null> {
  /** The browser bundle served at `/switchboard.js`. Default: `@switchboard/client/browser`. */
  clientBundle?: string
  /**
   * Messages kept per room, for newcomers and for a page that comes back after a gap; past it
   * the page shows that some messages were missed. Default: 50.
   */
  historySize?: number
  /**
   * This server's name among several (NODE_NAME in `npm start`): stamped on every message it
   * publishes, answered by the `stats` RPC and `GET /node`. Default: the host's name.
   */
  nodeName?: string
}

const PUBLIC = new URL('../public/', import.meta.url)
const ROOM = /^[^:]{1,64}$/

/** A string of `min`..`max` characters, or a FORBIDDEN naming `field`. */
function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max)
    throw new SwitchboardError('FORBIDDEN', `${field} must be 1-${max} characters`)
  return value
}

/** The built client bundle, or undefined when `npm run build` has not run yet. */
function resolveClientBundle(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@switchboard/client/browser')
  } catch {
    return undefined
  }
}

async function sendFile(c: Context, path: string | undefined, type: string): Promise<Response> {
  const body = path === undefined ? undefined : await readFile(path).catch(() => undefined)
  if (body === undefined) return c.notFound()
  return c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' })
}

/**
 * The chat server as a Hono app: Switchboard at `/rt`, channel `room:*`, RPC `stats`,
 * `POST /api/announce` (a server publish from an ordinary route), `GET /node` and the page at `/`.
 */
export function createChatApp(options: ChatAppOptions = {}): { app: Hono; sb: Switchboard<null> } {
  const { clientBundle = resolveClientBundle(), historySize = 50, nodeName = hostname(), ...switchboardOptions } = options
  const sb = createSwitchboard(switchboardOptions)

  sb.channel<ChatMessage>('room:*', {
    historySize,
    onPublish: (data) => {
      const { name, text } = (data ?? {}) as { name?: unknown; text?: unknown }
      return { name: checkText(name, 'name', 32), text: checkText(text, 'text', 500), at: Date.now(), node: nodeName }
    },
  })
  // Answered by the node that holds the caller's session.
  sb.rpc<unknown, { sessions: number; node: string }>('stats', () => ({ sessions: sb.sessionCount, node: nodeName }))

  const app = new Hono()
  app.route('/rt', sb.app)
  // Which node answered this request: behind a round-robin balancer, each request may be another.
  app.get('/node', (c) => c.json({ node: nodeName }, 200, { 'cache-control': 'no-store', 'x-chat-node': nodeName }))

  app.post('/api/announce', async (c) => {
    const body: unknown = await c.req.json().catch(() => null)
    const { room, text } = (body ?? {}) as { room?: unknown; text?: unknown }
    if (typeof room !== 'string' || !ROOM.test(room) || typeof text !== 'string' || text.length < 1 || text.length > 500)
      return c.json({ code: 'BAD_REQUEST', message: 'Send JSON { room, text }: room without ":", text 1-500 characters' }, 400)
    const message: ChatMessage = { name: 'server', text, at: Date.now(), node: nodeName }
    try {
      return c.json({ offset: await sb.publish(`room:${room}`, message) })
    } catch (e) {
      // ADAPTER_UNAVAILABLE (503) while the Redis adapter cannot reach Redis: the caller may retry.
      if (e instanceof SwitchboardError) return c.json(e.toJSON(), e.status as 500 | 503)
      throw e
    }
  })

  const file = (name: string) => fileURLToPath(new URL(name, PUBLIC))
  app.get('/', (c) => sendFile(c, file('index.html'), 'text/html; charset=utf-8'))
  app.get('/app.js', (c) => sendFile(c, file('app.js'), 'text/javascript; charset=utf-8'))
  app.get('/style.css', (c) => sendFile(c, file('style.css'), 'text/css; charset=utf-8'))
  app.get('/switchboard.js', async (c) => {
    const response = await sendFile(c, clientBundle, 'text/javascript; charset=utf-8')
    if (response.status !== 404) return response
    return c.text('The client bundle is missing: run `npm run build` at the repository root first.', 500)
  })
  // The bundle's `//# sourceMappingURL` points here.
  app.get('/switchboard.browser.js.map', (c) => sendFile(c, clientBundle && `${clientBundle}.map`, 'application/json'))

  return { app, sb }
}
