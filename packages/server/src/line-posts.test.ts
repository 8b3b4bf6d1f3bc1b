import { describe, expect, it } from 'vitest'
import { LinePosts, WEBSOCKET_LINE } from './line-posts.js'

describe('LinePosts', () => {
  const again = (posts: LinePosts, n: number) => posts.judge(posts.line, n) === 'again'

  it('tells a POST that comes again from a new one, and from one that was overtaken', () => {
    const posts = new LinePosts(7)
    expect([1, 2, 3].map((n) => again(posts, n))).toEqual([false, false, false])
    expect(again(posts, 2)).toBe(true)
    // 5 overtook 4: 4 is new when it comes, and a resend after that.
    expect([5, 4, 4, 5].map((n) => again(posts, n))).toEqual([false, false, true, true])
  })

  it('remembers the last 32 numbers, across jumps, and calls anything older a resend', () => {
    const posts = new LinePosts(7)
    expect(again(posts, 1)).toBe(false)
    expect(again(posts, 32)).toBe(false)
    expect(again(posts, 1)).toBe(true) // 31 behind: still known
    expect(again(posts, 2)).toBe(false)
    expect(again(posts, 100)).toBe(false) // a jump past the window forgets everything before
    expect(again(posts, 69)).toBe(false)
    expect(again(posts, 68)).toBe(true) // 32 behind: too old to tell
    expect(again(posts, 69)).toBe(true)
  })

  it('calls a POST of an older line late, and records nothing of it; unnumbered POSTs are new', () => {
    const posts = new LinePosts(7)
    expect(posts.judge(6, 1)).toBe('late')
    expect(posts.judge(7, 1)).toBe('new')
    expect(posts.judge(8, 1)).toBe('again')
    expect([posts.judge(7, 0), posts.judge(7, 0)]).toEqual(['new', 'new'])
    expect(new LinePosts(0).judge(0, 1)).toBe('new') // a client that sends no line numbers
  })

  it('calls a poll the next one only when its number follows the last, which was answered', () => {
    const polls = new LinePosts(7)
    expect([1, 2, 3].map((p) => polls.nextPoll(7, p, true))).toEqual([true, true, true])
    // Asked again (a proxy lost its answer), however often: never the next one.
    expect([3, 3].map((p) => polls.nextPoll(7, p, true))).toEqual([false, false])
    expect(polls.nextPoll(7, 4, true)).toBe(true)
    // The one before was abandoned or is still held: 5 replays, and 6 follows it.
    expect(polls.nextPoll(7, 5, false)).toBe(false)
    expect(polls.nextPoll(7, 6, true)).toBe(true)
    // A gap in the numbers, another line's poll, an unnumbered one: none goes on, and a jump is recorded.
    expect(polls.nextPoll(7, 9, true)).toBe(false)
    expect(polls.nextPoll(7, 10, true)).toBe(true)
    expect([polls.nextPoll(6, 11, true), polls.nextPoll(8, 11, true), polls.nextPoll(7, 0, true)]).toEqual([false, false, false])
    expect(polls.nextPoll(7, 11, true)).toBe(true)
  })

  it('made by a later poll (the session came from another node), knows no poll until it has seen one', () => {
    const polls = new LinePosts(7, false)
    expect(polls.nextPoll(7, 1, true)).toBe(false)
    expect(polls.nextPoll(7, 1, true)).toBe(false)
    expect(polls.nextPoll(7, 2, true)).toBe(true)
  })

  it('calls a GET of an older line superseded, and one of this line or a newer one not', () => {
    const line = new LinePosts(7)
    expect([6, 7, 8].map((l) => line.superseded(l, false))).toEqual([true, false, false])
    expect([6, 7, 8].map((l) => line.superseded(l, true))).toEqual([true, false, false])
    // A client that numbers no line sends 0 everywhere.
    expect(new LinePosts(0).superseded(0, false)).toBe(false)
  })

  it('after a WebSocket, calls every poll superseded and every POST late, but lets an HTTP line attach', () => {
    expect([0, 7, Date.now()].map((l) => WEBSOCKET_LINE.superseded(l, false))).toEqual([true, true, true])
    expect([0, 7, Date.now()].map((l) => WEBSOCKET_LINE.superseded(l, true))).toEqual([false, false, false])
    expect([WEBSOCKET_LINE.judge(7, 1), WEBSOCKET_LINE.judge(7, 1)]).toEqual(['late', 'late'])
    expect(WEBSOCKET_LINE.nextPoll(7, 1, true)).toBe(false)
  })
})
