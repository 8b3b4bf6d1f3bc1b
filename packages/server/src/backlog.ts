import type { ClientDataFrame } from '@switchboard/protocol'

/**
 * Client data frames a session holds back, in order (behind an async dispatch, or under
 * backpressure), with the bytes each came with: its share of its batch. A session makes one when
 * it first holds a frame, so an idle session has none.
 */
export class Backlog {
  #frames: ClientDataFrame[] = []
  #sizes: number[] = []
  #bytes = 0

  get length(): number {
    return this.#frames.length
  }

  /** One more frame of `bytes` stays within `maxFrames` and `maxBytes`. */
  fits(bytes: number, maxFrames: number, maxBytes: number): boolean {
    return this.#frames.length < maxFrames && this.#bytes + bytes <= maxBytes
  }

  push(frame: ClientDataFrame, bytes: number): void {
    this.#frames.push(frame)
    this.#sizes.push(bytes)
    this.#bytes += bytes
  }

  /** The oldest frame; call only when `length > 0`. */
  shift(): ClientDataFrame {
    this.#bytes -= this.#sizes.shift()!
    return this.#frames.shift()!
  }
}
