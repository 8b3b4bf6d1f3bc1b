/**
 * The POSTs of a line answered so far, by the number the client gives each (POST_NUMBER_PARAM),
 * the last 32 as a bit mask. One that comes again was sent again by a proxy or the browser after
 * its answer was lost on the way (nginx does not, browsers may on a reused connection that breaks,
 * other proxies do): the client never learns of that loss, so the frames of the first answer must
 * go out again. Two POSTs in flight may overtake each other: an older number is not a resend.
 */
export class AnsweredPosts {
  #max = 0
  /** Bit d: POST `#max - d` was answered. */
  #mask = 0

  /** Records that POST `n` is being answered; true when it was before (or is too old to tell). */
  again(n: number): boolean {
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
