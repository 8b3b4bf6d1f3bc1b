import { describe, expect, it } from 'vitest'
import { AnsweredPosts } from './answered-posts.js'

describe('AnsweredPosts', () => {
  it('tells a POST that comes again from a new one, and from one that was overtaken', () => {
    const posts = new AnsweredPosts()
    expect([1, 2, 3].map((n) => posts.again(n))).toEqual([false, false, false])
    expect(posts.again(2)).toBe(true)
    // 5 overtook 4: 4 is new when it comes, and a resend after that.
    expect([5, 4, 4, 5].map((n) => posts.again(n))).toEqual([false, false, true, true])
  })

  it('remembers the last 32 numbers, across jumps, and calls anything older a resend', () => {
    const posts = new AnsweredPosts()
    expect(posts.again(1)).toBe(false)
    expect(posts.again(32)).toBe(false)
    expect(posts.again(1)).toBe(true) // 31 behind: still known
    expect(posts.again(2)).toBe(false)
    expect(posts.again(100)).toBe(false) // a jump past the window forgets everything before
    expect(posts.again(69)).toBe(false)
    expect(posts.again(68)).toBe(true) // 32 behind: too old to tell
    expect(posts.again(69)).toBe(true)
  })
})
