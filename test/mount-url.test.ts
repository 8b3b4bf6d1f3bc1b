import type { SwitchboardClient } from '@switchboard/client'
import { createSwitchboard, type Listening, listen, type Switchboard } from '@switchboard/server'
import { Hono } from 'hono'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { connectClient, TRANSPORT_CASES } from './helpers/fixture.js'

/**
 * The mount URL given to connect() is kept on every request: its path (with or without a trailing
 * slash) and its own query parameters, which an app may route on. A Hono middleware in front of the
 * mount records every request the client makes: negotiate (or the WebSocket upgrade that
 * negotiates), the transport's own (ws, sse, poll) and the POSTs up.
 */
interface Seen {
  endpoint: string
  tenant: string | null
  sid: string | null
  /** A request that creates the session: POST /negotiate, or GET /ws?negotiate=1. */
  negotiates: boolean
}

let sb: Switchboard
let server: Listening
let origin: string
let seen: Seen[] = []
const clients: SwitchboardClient[] = []

beforeAll(async () => {
  sb = createSwitchboard()
  sb.channel('room:*').rpc<string, string>('echo', (data) => data)
  const app = new Hono()
  app.use('/rt/*', async (c, next) => {
    const url = new URL(c.req.url)
    const negotiates = url.pathname.endsWith('/negotiate') || url.searchParams.has('negotiate')
    seen.push({ endpoint: url.pathname, tenant: url.searchParams.get('tenant'), sid: url.searchParams.get('sid'), negotiates })
    await next()
  })
  app.route('/rt', sb.app)
  server = await listen(app)
  origin = server.url
})
beforeEach(() => {
  seen = []
})
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})
afterAll(async () => {
  await sb.close()
  await server.close()
})

/** Connects, subscribes, publishes and calls: every endpoint the transport uses is reached. */
async function exercise(url: string, transport: (typeof CASES)[number][0], options: (typeof CASES)[number][2]) {
  const client = connectClient(url, transport, options)
  clients.push(client)
  const room = client.channel<string>('room:mount')
  const got: string[] = []
  room.on('message', (m) => got.push(m.data))
  await room.subscribe()
  await room.publish('hello')
  await vi.waitFor(() => expect(got).toEqual(['hello']))
  await expect(client.call('echo', 'ping')).resolves.toBe('ping')
  expect(client.transport).toBe(transport)
  return client
}

/**
 * The endpoints each transport reaches: negotiate (WebSocket negotiates in its upgrade unless the
 * client sends headers), its downstream, and POSTs on the HTTP ones.
 */
const ENDPOINTS = {
  websocket: ['/rt/ws'],
  sse: ['/rt/negotiate', '/rt/send', '/rt/sse'],
  'long-polling': ['/rt/negotiate', '/rt/poll', '/rt/send'],
} as const
const CASES = [...TRANSPORT_CASES, ['websocket', ' after an HTTP negotiate', { headers: {} }]] as const
const endpointsOf = (transport: keyof typeof ENDPOINTS, options: object) =>
  'headers' in options ? ['/rt/negotiate', ...ENDPOINTS[transport]] : ENDPOINTS[transport]

describe.each(CASES)('a mount URL on %s%s', (transport, _label, options) => {
  it('with a trailing slash reaches each endpoint once under the mount, not under a doubled slash', async () => {
    const client = await exercise(`${origin}/rt/`, transport, options)
    expect([...new Set(seen.map((s) => s.endpoint))].sort()).toEqual(endpointsOf(transport, options))
    expect(seen.filter((s) => s.negotiates)).toHaveLength(1)
    for (const s of seen) if (!s.negotiates) expect(s.sid).toBe(client.sessionId)
  })

  it('with a query string keeps it on every request, and adds the session id after it', async () => {
    const client = await exercise(`${origin}/rt?tenant=acme`, transport, options)
    expect(client.url).toBe(`${origin}/rt?tenant=acme`)
    expect([...new Set(seen.map((s) => s.endpoint))].sort()).toEqual(endpointsOf(transport, options))
    expect(seen.filter((s) => s.tenant !== 'acme')).toEqual([])
    for (const s of seen) if (!s.negotiates) expect(s.sid).toBe(client.sessionId)
  })
})
