import { encodeData, encodeFrame, FrameType, SwitchboardError } from '@switchboard/protocol'
import type { Logger } from './log.js'

/** Why a value could not go in a frame: JSON cannot encode it. */
export class Unencodable {
  constructor(readonly cause: unknown) {}
}

/**
 * `result` as a REPLY's JSON, or Unencodable when JSON cannot encode it (a BigInt, a cycle,
 * nesting deeper than the stack, a throwing toJSON).
 */
export function encodeResult(result: unknown): string | Unencodable {
  try {
    return encodeData(result)
  } catch (e) {
    return new Unencodable(e)
  }
}

/** A REPLY carrying `resultJson` (from encodeResult), built as text: no wrapper array per reply. */
export function encodeResultReply(seq: number, ref: number, resultJson: string): string {
  return `[${FrameType.REPLY},${seq},${ref},null,${resultJson}]`
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

/** The REPLY to `ref` when JSON could not encode its result: RPC_ERROR, and the cause logged. */
export function unencodableReplyFrame(seq: number, ref: number, why: Unencodable, logger: Logger | undefined, sessionId: string): string {
  logger?.({ kind: 'session', message: `reply to ${ref} could not be encoded`, sessionId, data: why.cause })
  return errorReplyFrame(seq, ref, new SwitchboardError('RPC_ERROR', UNENCODABLE_RESULT), logger, sessionId)
}

/** The REPLY to `ref` carrying `error`; its data is left out (logged) when JSON cannot encode it. */
export function errorReplyFrame(seq: number, ref: number, error: SwitchboardError, logger: Logger | undefined, sessionId: string): string {
  const [frame, dropped] = encodeErrorReply(seq, ref, error)
  if (dropped) logger?.({ kind: 'session', message: `error data of the reply to ${ref} could not be encoded`, sessionId, data: dropped.cause })
  return frame
}
