import { SwitchboardError } from '@switchboard/protocol'
import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import type { LogEvent } from '../log.js'
import { RedisHealth, toAdapterError } from './redis-health.js'

function setUp() {
  const health = new RedisHealth()
  const logged: string[] = []
  let healthy = 0
  health.logger = (e: LogEvent) => logged.push(`${e.kind}: ${e.message}`)
  health.onHealthy = () => healthy++
  return { health, logged, healthyCount: () => healthy }
}

describe('RedisHealth', () => {
  it('is connecting until both links are up, then healthy, logged once', () => {
    const t = setUp()
    t.health.linkUp('commands')
    expect(t.health.state).toBe('connecting')
    t.health.linkUp('pubsub')
    t.health.linkUp('pubsub')
    expect(t.health.snapshot()).toEqual({ state: 'healthy', since: expect.any(Number) })
    expect(t.logged).toEqual(['adapter: redis healthy'])
  })

  it('is degraded while a link is down, with the reason, and healthy again (and catching up) once it is back', () => {
    const t = setUp()
    t.health.linkUp('commands')
    t.health.linkUp('pubsub')
    t.health.linkDown('pubsub', 'connect ECONNREFUSED 127.0.0.1:6379')
    expect(t.health.snapshot()).toEqual({ state: 'degraded', since: expect.any(Number), reason: 'pubsub: connect ECONNREFUSED 127.0.0.1:6379' })
    t.health.linkUp('pubsub')
    expect(t.health.state).toBe('healthy')
    expect(t.logged).toEqual([
      'adapter: redis healthy',
      'adapter: redis degraded: pubsub: connect ECONNREFUSED 127.0.0.1:6379',
      'adapter: redis healthy',
    ])
    expect(t.healthyCount()).toBe(2)
  })

  it.each(['commands', 'pubsub'] as const)('is degraded when Redis was never reached, once a connection attempt failed (%s)', (link) => {
    const t = setUp()
    t.health.linkDown(link, 'connect ECONNREFUSED 127.0.0.1:6379')
    expect(t.health.snapshot().reason).toBe(`${link}: connect ECONNREFUSED 127.0.0.1:6379`)
  })

  it('turns degraded on a command Redis could not serve over a live link, and healthy on the next success', () => {
    const t = setUp()
    t.health.linkUp('commands')
    t.health.linkUp('pubsub')
    const error = t.health.failed(new Error('Command timed out'))
    expect(error.code).toBe('ADAPTER_UNAVAILABLE')
    expect(t.health.snapshot().reason).toBe('commands: Redis is unavailable: Command timed out')
    t.health.succeeded()
    expect(t.health.state).toBe('healthy')
  })

  it('stays healthy when Redis refused a command as wrong: that is the call’s fault, not Redis’s', () => {
    const t = setUp()
    t.health.linkUp('commands')
    t.health.linkUp('pubsub')
    expect(t.health.failed(new ReplyError('ERR Error running script')).code).toBe('INTERNAL')
    expect(t.health.state).toBe('healthy')
  })

  it('stays closed once closed, whatever the links do', () => {
    const t = setUp()
    t.health.close()
    t.health.linkUp('commands')
    t.health.linkUp('pubsub')
    t.health.linkDown('commands', 'gone')
    expect(t.health.state).toBe('closed')
  })
})

describe('toAdapterError', () => {
  it.each([
    ['a closed connection', new Error('Connection is closed.'), 'ADAPTER_UNAVAILABLE'],
    ['a command refused while disconnected', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'ADAPTER_UNAVAILABLE'],
    ['a Redis loading its data', new ReplyError('LOADING Redis is loading the dataset in memory'), 'ADAPTER_UNAVAILABLE'],
    ['a cluster without a majority', new ReplyError('CLUSTERDOWN The cluster is down'), 'ADAPTER_UNAVAILABLE'],
    ['a Redis out of memory', new ReplyError("OOM command not allowed when used memory > 'maxmemory'."), 'ADAPTER_UNAVAILABLE'],
    ['a script error', new ReplyError('ERR user_script:1: Script attempted to access nonexistent global variable'), 'INTERNAL'],
  ])('answers %s with %s', (_case, error, code) => {
    expect(toAdapterError(error)).toMatchObject({ code, cause: error })
  })

  it('passes a SwitchboardError on as it is', () => {
    const error = new SwitchboardError('NODE_UNREACHABLE')
    expect(toAdapterError(error)).toBe(error)
  })
})
