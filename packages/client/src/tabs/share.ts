import type { ChannelHost } from '../channel.js'
import type { ConnectionConfig } from '../connection-config.js'
import type { ClientSession } from '../session.js'
import { inPage, type TabEnvironment } from './environment.js'
import { TabMember, type SessionLike } from './member.js'

/** connect()'s `shareAcrossTabs` option. */
export type ShareAcrossTabs = boolean | { scope: string }

/**
 * This tab's share of its group's connection, or null when it keeps its own (exactly as without
 * sharing): turned off, or a part of the platform missing, or (by default) outside a page.
 */
export function shareAcrossTabs(config: ConnectionConfig, option: ShareAcrossTabs | undefined, env: TabEnvironment | null): TabMember | null {
  if (option === false || env === null || (option === undefined && !inPage())) return null
  return new TabMember(config, env, typeof option === 'object' ? String(option.scope) : null)
}

/**
 * A channel's host on either kind of session. Channel asks for a ClientSession but calls only
 * request() and requestData(), which a tab's share of a connection has too.
 */
export function channelHost(session: ClientSession | SessionLike): ChannelHost {
  return { session: session as ClientSession }
}
