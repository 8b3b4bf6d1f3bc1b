/** One log event. Nothing is logged unless the app passes a `logger`. */
export interface LogEvent {
  kind: 'state' | 'transport' | 'session' | 'channel'
  message: string
  sessionId?: string
}
