/** How to answer a POST (see LinePosts.judge). */
export type PostVerdict = 'new' | 'again' | 'late'

/**
 * The POSTs and polls of a session's HTTP line (SSE or long polling), so that no frame an answer
 * carries is lost on the way without its client knowing:
 * - a POST of an older line than this one (LINE_PARAM; its body reached the server after its
 *   client moved to this line) is `late`: answered with its ack alone, its frames left for this line;
 * - a POST whose number (POST_NUMBER_PARAM) was answered before comes `again`: a proxy or the
 *   browser sent it again after its answer was lost (nginx does not, browsers may on a reused
 *   connection that breaks, other proxies do), so its answer replays from its ack. The last 32
 *   numbers answered are kept as a bit mask: two POSTs in flight may overtake each other, and an
 *   older number is not a resend;
 * - a long poll (POLL_NUMBER_PARAM) is the `nextPoll` when its number follows the last one seen:
 *   its client sent it after reading that one's answer. One that comes again is not;
 * - a poll or a stream of an older line, or a poll (not an attach) of any HTTP line once a
 *   WebSocket took over, is `superseded`: its client has left that line, which must not take the
 *   session from the one it moved to.
 * A session whose line is a WebSocket shares WEBSOCKET_LINE.
 */
export class LinePosts {
  /** The line's number (0 from a client that sends none). */
  readonly line: number
  #max = 0
  /** Bit d: POST `#max - d` was answered. */
  #mask = 0
  /** The last poll number seen: 0 after the line's attach poll, -1 until one is seen otherwise. */
  #poll: number

  /** `attached`: made by the line's attach (its stream, its poll 0), not by a later poll. */
  constructor(line: number, attached = true) {
    this.line = line
    this.#poll = attached ? 0 : -1
  }

  /**
   * True when poll `p` (0: unnumbered) of line `line` follows the last poll seen on this line, and
   * that one was `answered` (not abandoned, nor still held); records `p`.
   */
  nextPoll(line: number, p: number, answered: boolean): boolean {
    if (line !== this.line || p <= 0) return false
    const next = p === this.#poll + 1 && answered
    if (p > this.#poll) this.#poll = p
    return next
  }

  /**
   * True when a GET of HTTP line `line` (an `attach`: its stream or first poll) comes after a newer
   * line took the session: a proxy held it, or it crossed the client's switch to the new line.
   */
  superseded(line: number, attach: boolean): boolean {
    // A WebSocket has no number: an HTTP line that attaches after it is the client's way back.
    return this === WEBSOCKET_LINE ? !attach : line < this.line
  }

  /** How to answer POST `n` (0: unnumbered) of line `line`; records it as answered. */
  judge(line: number, n: number): PostVerdict {
    if (line < this.line) return 'late'
    return n > 0 && this.#again(n) ? 'again' : 'new'
  }

  /** Records POST `n`; true when it was answered before (or is too old to tell). */
  #again(n: number): boolean {
    if (n > this.#max) {
      const shift = n - this.#max
      this.#mask = shift >= 32 ? 1 : (this.#mask << shift) | 1
      this.#max = n
      return false
    }
    const d = this.#max - n
    if (d >= 32 || (this.#mask & (1 << d)) !== 0) return true
    this.#mask |= 1 << d
    return false
  }
}

/**
 * What a session whose line is a WebSocket holds, shared by all of them: every POST and poll of an
 * HTTP line is late. Never written: those return before they record a number.
 */
export const WEBSOCKET_LINE = new LinePosts(Number.POSITIVE_INFINITY)
