import type { ErrorCode } from './errors.js'
import type { NegotiateResponse } from './negotiate.js'

/**
 * Frame types. A frame is a JSON array whose first element is its type.
 * Types >= 10 are sequenced: their second element is the sender's per-direction seq.
 */
export const FrameType = {
  /**
   * c->s, WebSocket only, first frame: `[0, token, ack, version]` attaches the socket.
   * `[0, token, ack, version, 1]` only probes: the server answers PONG and waits for a real HELLO,
   * so a client can prove a new line carries frames both ways before switching to it.
   */
  HELLO: 0,
  /**
   * s->c, first frame after every attach: `[1, ack]` (last client seq the server holds); on a
   * WebSocket that negotiated in its upgrade, `[1, 0, answer]`, the NegotiateResponse.
   */
  WELCOME: 1,
  /** both: `[2, ack]`, cumulative */
  ACK: 2,
  /** both: `[3]` */
  PING: 3,
  /** both: `[4]` */
  PONG: 4,
  /** s->c: `[5, code, message, reconnectMs]`, the session is over (reconnectMs null: do not come back) */
  CLOSE: 5,
  /**
   * c->s: `[10, seq, channel, since]` or `[10, seq, channel, null, recent]`: since = `[offset, epoch]`
   * of the last message seen (replay what came after), or null; recent = how many of the latest
   * messages kept in history to replay first (a newcomer's catch-up).
   */
  SUBSCRIBE: 10,
  /** c->s: `[11, seq, channel]` */
  UNSUBSCRIBE: 11,
  /** c->s: `[12, seq, channel, data]` */
  PUBLISH: 12,
  /** c->s: `[13, seq, method, data]` */
  CALL: 13,
  /**
   * s->c: `[20, seq, channel, data, offset]`, or `[20, seq, channel, data, offset, skipped]` on a
   * channel whose slow subscribers get only the latest message: the `skipped` messages before
   * this one were replaced by it, deliberately (see GAP for messages that are lost).
   */
  MESSAGE: 20,
  /** s->c: `[21, seq, ref, null, result]` or `[21, seq, ref, code, message, data]` */
  REPLY: 21,
  /**
   * s->c: `[22, seq, channel, from, to]`: the channel's messages `from`..`to` (inclusive, this
   * epoch) will not come. The subscriber fell behind and, when it had room again, history no
   * longer held them; the messages after `to` follow.
   */
  GAP: 22,
} as const

export type HelloFrame = [type: 0, token: string, ack: number, version: number, probe?: 1]
export type WelcomeFrame = [type: 1, ack: number, answer?: NegotiateResponse]
export type AckFrame = [type: 2, ack: number]
export type PingFrame = [type: 3]
export type PongFrame = [type: 4]
export type CloseFrame = [type: 5, code: ErrorCode, message: string, reconnectMs: number | null]
/** Where a subscriber left off: the offset of the last message it saw, in that epoch. */
export type StreamPosition = [offset: number, epoch: string]
export type SubscribeFrame = [type: 10, seq: number, channel: string, since: StreamPosition | null, recent?: number]
export type UnsubscribeFrame = [type: 11, seq: number, channel: string]
/**
 * A client publish. `key`: only on a publish resent on a new session after its first session was
 * lost before the client learned whether it was processed: `<publishKey>.<seq>`, the first
 * session's publish key (see NegotiateResponse) and the seq it was first sent with. A server that
 * gave a publish key publishes once per key (the first send counted under the same key).
 */
export type PublishFrame = [type: 12, seq: number, channel: string, data: unknown, key?: string]
export type CallFrame = [type: 13, seq: number, method: string, data: unknown]
export type MessageFrame = [type: 20, seq: number, channel: string, data: unknown, offset: number, skipped?: number]
export type ReplyOkFrame = [type: 21, seq: number, ref: number, code: null, result: unknown]
export type ReplyErrorFrame = [type: 21, seq: number, ref: number, code: ErrorCode, message: string, data?: unknown]
export type ReplyFrame = ReplyOkFrame | ReplyErrorFrame
export type GapFrame = [type: 22, seq: number, channel: string, from: number, to: number]

/** The types of the frames that carry a request's data: PUBLISH and CALL. */
export type RequestType = typeof FrameType.PUBLISH | typeof FrameType.CALL

/** Frames a client sends. */
export type ClientFrame = HelloFrame | AckFrame | PingFrame | PongFrame | SubscribeFrame | UnsubscribeFrame | PublishFrame | CallFrame
/** Frames a server sends. */
export type ServerFrame = WelcomeFrame | AckFrame | PingFrame | PongFrame | CloseFrame | MessageFrame | ReplyFrame | GapFrame

/** Client frames that carry a seq. */
export type ClientDataFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | CallFrame
/** Server frames that carry a seq. */
export type ServerDataFrame = MessageFrame | ReplyFrame | GapFrame
/** The types of the frames a channel sends its subscribers: MESSAGE and GAP. */
export type ChannelFrameType = typeof FrameType.MESSAGE | typeof FrameType.GAP

/** True for frames that carry a seq (and so are acked, buffered and replayed). */
export function isSequenced<F extends ClientFrame | ServerFrame>(frame: F): frame is Extract<F, ClientDataFrame | ServerDataFrame> {
  return frame[0] >= 10
}
