import { describe, expect, it } from 'vitest'
import type { HttpAnswer, HttpRequest } from '../http/http.js'
import { HttpSender, POSTS_IN_FLIGHT } from './http-sender.js'
import type { TransportContext, TransportEvents } from './transport.js'

/** A sender whose POSTs wait until the test answers them; `log` records what happens, in order. */
function sender() {
  const log: string[] = []
  const answers: ((answer: HttpAnswer) => void)[] = []
  const ctx: TransportContext = {
    baseUrl: 'http://127.0.0.1:1/rt',
    sessionId: 's',
    token: 't',
    ack: { received: 0 },
    http: (_url: string, request: HttpRequest) => {
      log.push(`post ${request.body}`)
      return new Promise<HttpAnswer>((resolve) => answers.push(resolve))
    },
    WebSocket: undefined,
    pollTimeoutMs: 0,
    requestTimeoutMs: 60_000,
    probe: false,
  }
  const failures: string[] = []
  const fail = (reason: string) => void failures.push(reason)
  const events: TransportEvents = {
    onBatch: (text) => {
      log.push(`batch ${text}`)
      if (text === 'throw') throw new Error('taking it failed')
      // What a reply's promise does: its callbacks run in a microtask.
      queueMicrotask(() => log.push('reply callbacks'))
    },
    onDrain: () => {
      log.push('drain')
      s.send('[[13,3,"m",3]]', fail)
    },
    onProbe: () => {},
    onClose: () => {},
  }
  const s = new HttpSender(ctx, events, 1)
  const answer = (i: number, status: number, text: string) => answers[i]!({ status, text: async () => text, read: async () => {} })
  return { s, log, answer, fail, failures }
}

const turns = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

describe('HttpSender', () => {
  it('takes an answer and sends the next POST in one turn, before any callback of its replies runs', async () => {
    const { s, log, answer, fail, failures } = sender()
    expect(POSTS_IN_FLIGHT).toBe(2)
    expect(s.send('[[13,1,"m",1]]', fail)).toBe(true)
    expect(s.send('[[13,2,"m",2]]', fail)).toBe(false)
    answer(0, 200, '[[2,1],[21,1,1,null,1]]')
    await turns()
    expect(log).toEqual([
      'post [[13,1,"m",1]]',
      'post [[13,2,"m",2]]',
      'batch [[2,1],[21,1,1,null,1]]',
      'drain',
      'post [[13,3,"m",3]]',
      'reply callbacks',
    ])
    expect(failures).toEqual([])
  })

  it('frees the slot of a refused POST and reports it, without taking a batch or draining', async () => {
    const { s, log, answer, fail, failures } = sender()
    s.send('[[13,1,"m",1]]', fail)
    answer(0, 500, '{"code":"INTERNAL"}')
    await turns()
    expect(failures).toEqual(['POST failed: HTTP 500'])
    expect(log).toEqual(['post [[13,1,"m",1]]'])
    // Its slot is free again: two more fit.
    expect(s.send('[[13,2,"m",2]]', fail)).toBe(true)
  })

  it('ends the line when taking an answer throws, and leaves no rejection unhandled', async () => {
    const { s, log, answer, fail, failures } = sender()
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      s.send('not a batch', fail)
      answer(0, 200, 'throw')
      await turns()
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(log).toEqual(['post not a batch', 'batch throw'])
    expect(failures).toEqual(['POST answer not taken: taking it failed'])
    expect(unhandled).toEqual([])
  })

  it('takes nothing from an answer that comes after close()', async () => {
    const { s, log, answer, fail, failures } = sender()
    s.send('[[13,1,"m",1]]', fail)
    s.close()
    answer(0, 200, '[[2,1]]')
    await turns()
    expect(log).toEqual(['post [[13,1,"m",1]]'])
    expect(failures).toEqual([])
  })
})
