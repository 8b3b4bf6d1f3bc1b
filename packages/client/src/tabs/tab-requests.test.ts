import { FrameType, SwitchboardError } from '@switchboard/protocol'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TabRequests } from './tab-requests.js'

/** A request's outcome, kept so no rejection goes unhandled. */
function outcome(promise: Promise<unknown>) {
  const seen: { result?: unknown; code?: string } = {}
  promise.then(
    (result) => (seen.result = result),
    (e: SwitchboardError) => (seen.code = e.code),
  )
  return seen
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))
const publish = { kind: 'data', type: FrameType.PUBLISH, name: '"room"', data: '1' } as const
const unsubscribe = (seq: number) => [FrameType.UNSUBSCRIBE, seq, 'room'] as const

afterEach(() => vi.useRealTimers())

describe('TabRequests, when the leader changes', () => {
  it('sends again what the closed leader never took, and ends what it took as a lost session would', async () => {
    const requests = new TabRequests()
    expect(requests.follow('hub-1')).toEqual([])
    const sent = [
      requests.add(publish, undefined),
      requests.add({ kind: 'data', type: FrameType.CALL, name: '"echo"', data: '1' }, 5_000),
      requests.add((seq) => [...unsubscribe(seq)], undefined),
      requests.add({ kind: 'drain' }, undefined),
      requests.add(publish, undefined),
    ]
    for (const { pending } of sent) pending.hub = 'hub-1'
    const seen = sent.map(({ promise }) => outcome(promise))
    requests.taken('hub-1', 4)
    requests.taken('hub-0', 5) // another hub's word counts for nothing
    const resend = requests.follow('hub-2')
    await settle()
    expect(resend.map((p) => p.id)).toEqual([5])
    expect(seen.slice(0, 4)).toEqual([{ code: 'SESSION_LOST' }, { code: 'SESSION_LOST' }, { result: null }, { result: null }])
    expect(seen[4]).toEqual({})
    expect(requests.size).toBe(1)
    requests.settle(5, { offset: 1 }, undefined)
    await settle()
    expect(seen[4]).toEqual({ result: { offset: 1 } })
  })

  it('builds a frame request at each send, and without a seq', () => {
    const requests = new TabRequests()
    let since = 1
    const { pending, promise } = requests.add((seq) => [FrameType.SUBSCRIBE, seq, 'room', [since, 'e']], undefined)
    promise.catch(() => {})
    expect(TabRequests.build(pending)).toEqual({ kind: 'frame', frame: [FrameType.SUBSCRIBE, 0, 'room', [1, 'e']] })
    since = 7
    expect(TabRequests.build(pending)).toEqual({ kind: 'frame', frame: [FrameType.SUBSCRIBE, 0, 'room', [7, 'e']] })
    requests.rejectAll(new SwitchboardError('CLOSED'))
  })
})

describe('TabRequests, deadlines', () => {
  it('rejects TIMEOUT when no answer comes in time, and tells the hub the time left', async () => {
    vi.useFakeTimers()
    const requests = new TabRequests()
    const { pending, promise } = requests.add(publish, 1_000)
    const seen = outcome(promise)
    vi.advanceTimersByTime(400)
    expect(TabRequests.remainingMs(pending)).toBe(600)
    vi.advanceTimersByTime(600)
    await vi.runAllTimersAsync()
    expect(seen).toEqual({ code: 'TIMEOUT' })
    // A late answer changes nothing.
    requests.settle(pending.id, 'late', undefined)
    expect(requests.size).toBe(0)
  })

  it('rejects everything with the error it is closed with', async () => {
    const requests = new TabRequests()
    const seen = [outcome(requests.add(publish, 10_000).promise), outcome(requests.add(publish, undefined).promise)]
    requests.rejectAll(new SwitchboardError('CLOSED'))
    await settle()
    expect(seen).toEqual([{ code: 'CLOSED' }, { code: 'CLOSED' }])
    expect(TabRequests.remainingMs(requests.add(publish, undefined).pending)).toBeUndefined()
  })
})
