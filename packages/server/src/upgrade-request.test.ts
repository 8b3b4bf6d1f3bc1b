import { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { upgradeRequest } from './upgrade-request.js'

/** An upgrade request as Node's HTTP parser leaves it. */
function incoming(url: string, rawHeaders: string[]): IncomingMessage {
  const req = new IncomingMessage(new Socket())
  req.url = url
  req.method = 'GET'
  req.rawHeaders = rawHeaders
  for (let i = 0; i < rawHeaders.length; i += 2) req.headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]
  return req
}

const HEADERS = ['Host', 'example.test:8080', 'Upgrade', 'websocket', 'X-Twice', 'a', 'X-Twice', 'b', 'Origin', 'https://app.test']

describe('upgradeRequest', () => {
  it('answers as the web Request of the upgrade: URL, method, headers (repeated ones joined)', () => {
    const r = upgradeRequest(incoming('/rt/ws?negotiate=1', HEADERS))
    expect(r).toBeInstanceOf(Request)
    expect(r.url).toBe('http://example.test:8080/rt/ws?negotiate=1')
    expect(r.method).toBe('GET')
    expect(r.headers.get('origin')).toBe('https://app.test')
    expect(r.headers.get('x-twice')).toBe('a, b')
    expect(r.headers).toBe(r.headers)
    expect([...r.headers.keys()]).toEqual(['host', 'origin', 'upgrade', 'x-twice'])
  })

  it('answers every other member from a full Request, built once: signal, body, clone(), text()', async () => {
    const r = upgradeRequest(incoming('/x', HEADERS))
    expect(r.signal).toBeInstanceOf(AbortSignal)
    expect(r.signal).toBe(r.signal)
    expect(r.signal.aborted).toBe(false)
    expect(r.body).toBeNull()
    expect(r.bodyUsed).toBe(false)
    const copy = r.clone()
    expect(copy).not.toBe(r)
    expect(copy.url).toBe(r.url)
    expect(copy.headers.get('x-twice')).toBe('a, b')
    await expect(r.text()).resolves.toBe('')
  })

  it('answers get and has from the raw headers until a change, then from the full Headers', () => {
    const h = upgradeRequest(incoming('/x', HEADERS)).headers
    expect(h).toBeInstanceOf(Headers)
    expect([h.get('X-TWICE'), h.get('origin'), h.get('nope'), h.has('Upgrade'), h.has('nope')]).toEqual([
      'a, b',
      'https://app.test',
      null,
      true,
      false,
    ])
    h.set('x-twice', 'c')
    h.delete('origin')
    h.append('x-new', 'n')
    expect([h.get('x-twice'), h.get('origin'), h.has('origin'), h.get('x-new')]).toEqual(['c', null, false, 'n'])
    expect(Object.fromEntries(h)).toEqual({ host: 'example.test:8080', upgrade: 'websocket', 'x-new': 'n', 'x-twice': 'c' })
  })

  it('writes the URL as URL does, and throws where URL throws (a Host no URL can hold)', () => {
    const outcome = (f: () => string) => {
      try {
        return f()
      } catch (e) {
        return `throws ${(e as Error).name}`
      }
    }
    const hosts = [
      'h',
      'h:80',
      'h:443',
      'h:08080',
      'h:65536',
      'EXAMPLE.test',
      'a_b.test',
      '127.0.0.1:50123',
      '127.1',
      '0x7f.1',
      'a.1',
      'a.b.',
      'a..b',
      '1.2.3',
      '01.1.1.1',
      'xn--',
      'xn--nxasmq6b.test',
      '[::1]:8080',
      'exa mple',
      'a:b',
    ]
    const targets = [
      '/',
      '/rt/ws?sid=a&x=1',
      '/a/./b/../c?q=%41 b',
      "/a b/'x'?y='z'",
      '/%zz/ü?q=ü',
      '/ws?negotiate=1&transports=websocket,sse',
      '/a?b#c',
    ]
    for (const host of hosts)
      for (const target of targets) {
        const expected = outcome(() => new URL(`http://${host}${target}`).href)
        expect([host, target, outcome(() => upgradeRequest(incoming(target, ['Host', host])).url)]).toEqual([host, target, expected])
      }
    expect(outcome(() => upgradeRequest(incoming('/rt/ws', ['Host', 'exa mple'])).url)).toBe('throws TypeError')
  })

  it('takes https for a TLS socket, and localhost when the request has no Host', () => {
    const req = incoming('/a?b=c', [])
    ;(req.socket as Socket & { encrypted?: boolean }).encrypted = true
    expect(upgradeRequest(req).url).toBe('https://localhost/a?b=c')
  })
})
