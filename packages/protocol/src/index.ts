export * from './constants.js'
export * from './errors.js'
export * from './frame.js'
export { isNegotiateResponse, type NegotiateResponse } from './negotiate.js'
export {
  encodeFrame,
  encodeBatch,
  PING_FRAME,
  PONG_FRAME,
  PROBE_ANSWER,
  wrapBatch,
  joinControl,
  encodeData,
  joinMessageBody,
  messageBodyHead,
  encodeMessageBody,
  encodeMessage,
  encodeChannelFrame,
  markSkipped,
  encodeGapBody,
  encodeAck,
  encodeRequest,
  decodeClientBatch,
  decodeServerBatch,
  utf8Length,
  exceedsBytes,
  fitBatch,
  batchRoom,
} from './codec.js'
export { classifySeq, ReplayBuffer, type SeqVerdict } from './seq.js'
export { Sequencer, type BatchLimits, type SequencerLimits, type SequencerState } from './sequencer.js'
