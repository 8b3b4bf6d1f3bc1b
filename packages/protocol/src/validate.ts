import { MAX_NAME_LENGTH } from './constants.js'
import { isErrorCode, SwitchboardError } from './errors.js'
import { FrameType as T, type ClientFrame, type ServerFrame } from './frame.js'
import { isNegotiateResponse } from './negotiate.js'

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH

/** A publish key is the session's publish key, a dot and a seq: short, and a name's length at most. */
const isPublishKey = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH

const isPosition = (v: unknown): boolean =>
  Array.isArray(v) && v.length === 2 && isSeq(v[0]) && typeof v[1] === 'string' && v[1].length <= MAX_NAME_LENGTH

function malformed(why: string): never {
  throw new SwitchboardError('MALFORMED_FRAME', `Malformed frame: ${why}`)
}

/** Checks one decoded value is a well-formed client frame, or throws MALFORMED_FRAME. */
export function assertClientFrame(f: unknown): asserts f is ClientFrame {
  if (!Array.isArray(f)) malformed('not an array')
  const n = f.length
  switch (f[0]) {
    case T.HELLO:
      if ((n !== 4 && !(n === 5 && f[4] === 1)) || typeof f[1] !== 'string' || !isSeq(f[2]) || !isSeq(f[3])) malformed('bad HELLO')
      return
    case T.ACK:
      if (n !== 2 || !isSeq(f[1])) malformed('bad ACK')
      return
    case T.PING:
    case T.PONG:
      if (n !== 1) malformed('bad PING/PONG')
      return
    case T.SUBSCRIBE:
      if ((n !== 4 && !(n === 5 && f[3] === null && isSeq(f[4]))) || !isSeq(f[1]) || !isName(f[2]) || (f[3] !== null && !isPosition(f[3])))
        malformed('bad SUBSCRIBE')
      return
    case T.UNSUBSCRIBE:
      if (n !== 3 || !isSeq(f[1]) || !isName(f[2])) malformed('bad UNSUBSCRIBE')
      return
    case T.PUBLISH:
      // The 5th element: the key of a publish resent on a new session (see PublishFrame).
      if ((n !== 4 && !(n === 5 && isPublishKey(f[4]))) || !isSeq(f[1]) || !isName(f[2])) malformed('bad PUBLISH')
      return
    case T.CALL:
      if (n !== 4 || !isSeq(f[1]) || !isName(f[2])) malformed('bad CALL')
      return
    default:
      malformed(`unknown type ${JSON.stringify(f[0])}`)
  }
}

/** Checks one decoded value is a well-formed server frame, or throws MALFORMED_FRAME. */
export function assertServerFrame(f: unknown): asserts f is ServerFrame {
  if (!Array.isArray(f)) malformed('not an array')
  const n = f.length
  switch (f[0]) {
    case T.WELCOME:
      // The 3rd element: the negotiate answer, on a WebSocket that negotiated in its upgrade.
      if ((n !== 2 && !(n === 3 && isNegotiateResponse(f[2]))) || !isSeq(f[1])) malformed('bad WELCOME')
      return
    case T.ACK:
      if (n !== 2 || !isSeq(f[1])) malformed('bad ACK')
      return
    case T.PING:
    case T.PONG:
      if (n !== 1) malformed('bad PING/PONG')
      return
    case T.CLOSE:
      if (n !== 4 || !isErrorCode(f[1]) || typeof f[2] !== 'string' || (f[3] !== null && !isSeq(f[3]))) malformed('bad CLOSE')
      return
    case T.MESSAGE:
      if ((n !== 5 && !(n === 6 && isSeq(f[5]) && f[5] > 0)) || !isSeq(f[1]) || !isName(f[2]) || !isSeq(f[4])) malformed('bad MESSAGE')
      return
    case T.GAP:
      if (n !== 5 || !isSeq(f[1]) || !isName(f[2]) || !isSeq(f[3]) || !isSeq(f[4]) || f[3] < 1 || f[4] < f[3]) malformed('bad GAP')
      return
    case T.REPLY:
      if (!isSeq(f[1]) || !isSeq(f[2])) malformed('bad REPLY')
      if (f[3] === null ? n !== 5 : !isErrorCode(f[3]) || typeof f[4] !== 'string' || n < 5 || n > 6) malformed('bad REPLY')
      return
    default:
      malformed(`unknown type ${JSON.stringify(f[0])}`)
  }
}
