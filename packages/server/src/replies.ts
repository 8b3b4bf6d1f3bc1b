import { encodeData, encodeFrame, FrameType, type SwitchboardError } from '@switchboard/protocol'

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
