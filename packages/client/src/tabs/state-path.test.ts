import { describe, expect, it } from 'vitest'
import { type ClientState, NEXT } from '../state.js'
import { pathTo } from './state-path.js'

const STATES = Object.keys(NEXT) as ClientState[]

describe('pathTo', () => {
  it('walks the shortest legal way: an open follower whose leader closed goes through backoff', () => {
    expect(pathTo('open', 'connecting')).toEqual(['backoff', 'connecting'])
    expect(pathTo('connecting', 'upgrading')).toEqual(['open', 'upgrading'])
    expect(pathTo('backoff', 'open')).toEqual(['connecting', 'open'])
    expect(pathTo('idle', 'open')).toEqual(['connecting', 'open'])
  })

  it('stays put when there, and never leaves closed or returns to idle', () => {
    for (const state of STATES) expect(pathTo(state, state)).toEqual([])
    for (const state of STATES) expect(pathTo('closed', state)).toEqual([])
    for (const state of STATES) expect(pathTo(state, 'idle')).toEqual([])
  })

  it('takes only transitions of the table, for every pair of states', () => {
    for (const from of STATES)
      for (const to of STATES) {
        let at = from
        for (const step of pathTo(from, to)) {
          expect(NEXT[at] as readonly ClientState[]).toContain(step)
          at = step
        }
      }
  })
})
