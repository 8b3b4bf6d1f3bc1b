import { once } from 'node:events'
import type { SwitchboardClient } from '@switchboard/client'
import type { NegotiateResponse } from '@switchboard/server'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { collect, connectClient } from './helpers/fixture.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'

/**
 * Input a hostile client can send that JSON parses but cannot encode again, and handler results
 * JSON cannot carry. The server runs in a process of its own: each case is answered to its
 * caller alone, with a documented code, and the process stays up (it once exited on the first).
 */
let server: ServerProcess
let bystander: SwitchboardClient

beforeAll(async () => {
  server = await startServerProcess()
  bystander = connectClient(server.url, 'websocket')
  await bystander.channel('room:bystander').subscribe()
}, 30_000)
afterAll(async () => {
  bystander?.close()
  await server?.stop()
})

/** Nested deeper than JSON.stringify's stack allows (6,000 levels, 12 KB): JSON.parse takes it. */
const DEEP = '['.repeat(6_000) + ']'.repeat(6_000)

/** A session driven over a raw WebSocket, as a hostile client would: frames in, every frame out. */
async function rawSession() {
  const res = await fetch(`${server.url}/negotiate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  const s = (await res.json()) as NegotiateResponse
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?sid=${s.sessionId}`)
  const frames: unknown[][] = []
  ws.on('message', (data) => frames.push(...(JSON.parse(String(data)) as unknown[][])))
  await once(ws, 'open')
  ws.send(JSON.stringify([[0, s.resumeToken, 0, 1]]))
  await vi.waitFor(() => expect(frames[0]).toEqual([1, 0]))
  let seq = 0
  return {
    ws,
    /** Sends `[type, seq, name, data]` with `dataJson` as written, and resolves with the REPLY to it. */
    async request(type: 12 | 13, name: string, dataJson: string): Promise<unknown[]> {
      const ref = ++seq
      ws.send(`[[${type},${ref},${JSON.stringify(name)},${dataJson}]]`)
      return vi.waitFor(
        () => {
          const reply = frames.find((f) => f[0] === 21 && f[2] === ref)
          if (!reply) throw new Error(`no reply to ${ref} yet`)
          return reply.slice(3)
        },
        { timeout: 5_000 },
      )
    },
  }
}

async function bystanderStillWorks() {
  const got = collect<number>(bystander, 'room:bystander')
  const n = Math.random()
  await bystander.channel('room:bystander').publish(n)
  await vi.waitFor(() => expect(got).toContain(n))
  await expect(bystander.call('add', { a: 1, b: 1 })).resolves.toBe(2)
  expect(server.alive()).toBe(true)
}

describe('input JSON cannot encode again is answered to its caller alone', () => {
  it('an async handler returning data nested too deep to encode is answered RPC_ERROR, and the process stays up', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'echoLater', DEEP)).toEqual(['RPC_ERROR', 'The result could not be encoded as JSON'])
    // The same session carries on.
    expect(await s.request(13, 'add', '{"a":2,"b":3}')).toEqual([null, 5])
    s.ws.close()
    await bystanderStillWorks()
  })

  it('a sync handler returning it is answered RPC_ERROR too, not by ending the session', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'echo', DEEP)).toEqual(['RPC_ERROR', 'The result could not be encoded as JSON'])
    expect(await s.request(13, 'add', '{"a":1,"b":1}')).toEqual([null, 2])
    s.ws.close()
    await bystanderStillWorks()
  })

  it('async results that are a BigInt or a cycle are answered RPC_ERROR', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'bigintLater', 'null')).toEqual(['RPC_ERROR', 'The result could not be encoded as JSON'])
    expect(await s.request(13, 'cycleLater', 'null')).toEqual(['RPC_ERROR', 'The result could not be encoded as JSON'])
    s.ws.close()
    await bystanderStillWorks()
  })

  it('a SwitchboardError whose data cannot be encoded keeps its code and message, without the data', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'failWithBigintLater', 'null')).toEqual(['FORBIDDEN', 'not you'])
    s.ws.close()
    await bystanderStillWorks()
  })

  it('an error code outside the table is answered RPC_ERROR, which every client can decode', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'failWithUnknownCode', 'null')).toEqual(['RPC_ERROR', 'The RPC handler failed'])
    s.ws.close()
  })

  it('a publish of data nested too deep is answered BAD_REQUEST; one whose onPublish result cannot be encoded, INTERNAL', async () => {
    const s = await rawSession()
    expect(await s.request(12, 'room:deep', DEEP)).toEqual(['BAD_REQUEST', 'The message could not be encoded as JSON'])
    // It used to be acked and never answered: publish() hung.
    expect(await s.request(12, 'shaped:x', '{"a":1}')).toEqual(['INTERNAL', 'The message could not be encoded as JSON'])
    expect(await s.request(12, 'room:deep', '{"a":1}')).toEqual([null, { offset: 1 }])
    s.ws.close()
    await bystanderStillWorks()
  })

  it('documented outcomes: numbers past a double come back null, lone surrogates come back as sent', async () => {
    const s = await rawSession()
    expect(await s.request(13, 'echo', '[1e400,-1e400,123456789012345678901234567890]')).toEqual([null, [null, null, 1.2345678901234568e29]])
    expect(await s.request(13, 'echo', '"a\\ud800b"')).toEqual([null, 'a\ud800b'])
    s.ws.close()
    await bystanderStillWorks()
  })
})
