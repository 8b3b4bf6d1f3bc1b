import { describe, expect, it } from 'vitest'
import { endpointUrl, mountUrl } from './endpoints.js'

describe('mountUrl', () => {
  it('resolves a relative mount against the page and drops trailing slashes and the fragment', () => {
    expect(mountUrl('/rt/', 'https://app.example/chat/')).toBe('https://app.example/rt')
    expect(mountUrl('rt//?tenant=a#top', 'https://app.example/chat/')).toBe('https://app.example/chat/rt?tenant=a')
    expect(mountUrl('http://h:8080/')).toBe('http://h:8080')
    // The same input answers the same, and one relative URL means another thing on another page.
    expect(mountUrl('/rt/', 'https://app.example/chat/')).toBe('https://app.example/rt')
    expect(mountUrl('rt', 'https://other.example/a/')).toBe('https://other.example/a/rt')
    expect(mountUrl('rt', 'https://app.example/b/')).toBe('https://app.example/b/rt')
  })
})

describe('endpointUrl', () => {
  it('puts the endpoint under the mount path, with or without a trailing slash', () => {
    expect(endpointUrl('http://h/rt', 'negotiate')).toBe('http://h/rt/negotiate')
    expect(endpointUrl('http://h/rt/', 'negotiate')).toBe('http://h/rt/negotiate')
    expect(endpointUrl('http://h', 'negotiate')).toBe('http://h/negotiate')
  })

  it("keeps the mount's query parameters first, then the session's, which win over a same-named one", () => {
    expect(endpointUrl('http://h/rt?tenant=a', 'poll', { sid: 's 1', attach: '1' })).toBe('http://h/rt/poll?tenant=a&sid=s+1&attach=1')
    expect(endpointUrl('http://h/rt?sid=mine&tenant=a', 'send', { sid: 'real' })).toBe('http://h/rt/send?sid=real&tenant=a')
  })

  it("keeps the mount's own query as written when it adds none, and answers the same again", () => {
    expect(endpointUrl('http://h/rt?q=a%20b', 'negotiate')).toBe('http://h/rt/negotiate?q=a%20b')
    expect(endpointUrl('http://h/rt?q=a%20b', 'sse', { sid: 's' })).toBe('http://h/rt/sse?q=a+b&sid=s')
    expect(endpointUrl('http://h/rt?q=a%20b', 'negotiate')).toBe('http://h/rt/negotiate?q=a%20b')
    expect(endpointUrl('http://h/rt?q=a%20b', 'sse', { sid: 't', line: '2' })).toBe('http://h/rt/sse?q=a+b&sid=t&line=2')
  })

  it('reaches the WebSocket endpoint over ws: or wss:, and only that one', () => {
    expect(endpointUrl('http://h/rt?tenant=a', 'ws', { sid: 's' })).toBe('ws://h/rt/ws?tenant=a&sid=s')
    expect(endpointUrl('https://h/rt', 'ws', { sid: 's' })).toBe('wss://h/rt/ws?sid=s')
    expect(endpointUrl('https://h/rt', 'sse', { sid: 's' })).toBe('https://h/rt/sse?sid=s')
  })
})
