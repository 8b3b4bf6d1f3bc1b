import { SwitchboardError } from '@switchboard/protocol'
import type { Context } from 'hono'
import type { SwitchboardOptions } from './options.js'

/**
 * Turns the app's `authenticate` option into the identity of a new session (null without one,
 * at once: no promise for a negotiate to wait on). A refusal, or a hook that throws anything but
 * a SwitchboardError, is UNAUTHORIZED.
 */
export function createAuthenticate<Identity>(hook: SwitchboardOptions<Identity>['authenticate']): (c: Context) => Promise<unknown> | null {
  if (!hook) return noIdentity
  return async (c) => {
    let identity: Identity | false
    try {
      identity = await hook(c)
    } catch (e) {
      if (e instanceof SwitchboardError) throw e
      throw new SwitchboardError('UNAUTHORIZED', undefined, { cause: e })
    }
    if (identity === false) throw new SwitchboardError('UNAUTHORIZED')
    return identity
  }
}

function noIdentity(): null {
  return null
}
