/** One log event. Nothing is logged unless the app passes a `logger`. */
export interface LogEvent {
  kind: 'session' | 'transport' | 'channel' | 'rpc' | 'http' | 'adapter'
  message: string
  sessionId?: string
  data?: unknown
}

export type Logger = (event: LogEvent) => void
