import { PING_FRAME, PONG_FRAME, type Sequencer } from '@switchboard/protocol'
import type { Session } from './session.js'
import type { SessionConfig } from './session-config.js'
import { traitsOf } from './transports/index.js'
import type { ServerTransport } from './transports/transport.js'

/** After a reattach, heartbeats queued for the old line are stale (a filter for its control frames). */
export const notHeartbeat = (frame: string): boolean => frame !== PING_FRAME && frame !== PONG_FRAME

/**
 * One sweep of a live session's heartbeat and liveness: a session without a line lives for
 * recoveryMs; a streaming line silent for two heartbeats is closed (the session waits for the
 * next), else it is pinged once per heartbeat. A polled line is its polls' business. Returns
 * false when the session should end.
 */
export function heartbeat(session: Session, line: ServerTransport | null, seq: Sequencer, config: SessionConfig, now: number): boolean {
  if (!line) return now - session.detachedAt < config.recoveryMs
  if (traitsOf(line).polled) return true
  if (now - session.lastSeen > config.heartbeatMs * 2) {
    line.close('TIMEOUT')
    session.detach(line, 'no traffic from the client')
  } else if (now - session.lastPing >= config.heartbeatMs) {
    session.lastPing = now
    seq.control(PING_FRAME)
    session.flushSoon()
  }
  return true
}
