import { describe, expect, it } from 'vitest'
import { queueFlush } from './flush-queue.js'

describe('queueFlush', () => {
  it('flushes every target queued in one callback together, once the callback is done', async () => {
    const flushed: string[] = []
    const target = (name: string) => ({ flush: () => void flushed.push(name), flushFailed: () => {} })
    queueFlush(target('a'))
    queueFlush(target('b'))
    expect(flushed).toEqual([])
    await Promise.resolve()
    expect(flushed).toEqual(['a', 'b'])
  })

  it('hands a throwing flush to that target alone, and still flushes the others', async () => {
    const flushed: string[] = []
    const failed: unknown[] = []
    const boom = new Error('line broke')
    queueFlush({ flush: () => void flushed.push('a'), flushFailed: () => {} })
    queueFlush({
      flush: () => {
        throw boom
      },
      flushFailed: (e) => void failed.push(e),
    })
    queueFlush({ flush: () => void flushed.push('c'), flushFailed: () => {} })
    await Promise.resolve()
    expect(flushed).toEqual(['a', 'c'])
    expect(failed).toEqual([boom])
  })
})
