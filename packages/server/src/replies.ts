import { encodeData, encodeFrame, FrameType, SwitchboardError } from '@switchboard/protocol'
import type { Logger } from './log.js'

/** Why a value could not go in a frame: JSON cannot encode it. */
export class Unencodable {
  constructor(readonly cause: unknown) {}
}

/**
 * A REPLY carrying `result`, built as text: the result is encoded once and no wrapper array is
 * allocated per reply. Unencodable when JSON cannot encode the result (a BigInt, a cycle, nesting
 * deeper than the stack, a throwing toJSON).
 */
export function encodeResultReply(seq: number, ref: number, result: unknown): string | Unencodable {
  try {
    return `[${FrameType.REPLY},${seq},${ref},null,${encodeData(result)}]`
  } catch (e) {
    return new Unencodable(e)
  }
}

/** A REPLY carrying `error`, and why its data was left out when JSON could not encode it. */
export function encodeErrorReply(seq: number, ref: number, error: SwitchboardError): [frame: string, dropped?: Unencodable] {
  if (error.data !== undefined) {
    try {
      return [encodeFrame([FrameType.REPLY, seq, ref, error.code, error.message, error.data])]
    } catch (e) {
      return [encodeFrame([FrameType.REPLY, seq, ref, error.code, error.message]), new Unencodable(e)]
    }
  }
  return [encodeFrame([FrameType.REPLY, seq, ref, error.code, error.message])]
}

const UNENCODABLE_RESULT = 'The result could not be encoded as JSON'

/** The REPLY to `ref` carrying `result`, or RPC_ERROR when JSON cannot encode it (logged). */
export function replyFrame(seq: number, ref: number, result: unknown, logger: Logger | undefined, sessionId: string): string {
  const frame = encodeResultReply(seq, ref, result)
  if (!(frame instanceof Unencodable)) return frame
  logger?.({ kind: 'session', message: `reply to ${ref} could not be encoded`, sessionId, data: frame.cause })
  return errorReplyFrame(seq, ref, new SwitchboardError('RPC_ERROR', UNENCODABLE_RESULT), logger, sessionId)
}

/** The REPLY to `ref` carrying `error`; its data is left out (logged) when JSON cannot encode it. */
export function errorReplyFrame(seq: number, ref: number, error: SwitchboardError, logger: Logger | undefined, sessionId: string): string {
  const [frame, dropped] = encodeErrorReply(seq, ref, error)
  if (dropped) logger?.({ kind: 'session', message: `error data of the reply to ${ref} could not be encoded`, sessionId, data: dropped.cause })
  return frame
}
