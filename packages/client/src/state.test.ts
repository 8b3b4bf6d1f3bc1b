import { describe, expect, it } from 'vitest'
import { assertTransition, NEXT, type ClientState } from './state.js'

const STATES: readonly ClientState[] = ['idle', 'connecting', 'open', 'upgrading', 'backoff', 'closed']
const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const))
const legal = (from: ClientState, to: ClientState) => (NEXT[from] as readonly ClientState[]).includes(to)

describe('client state machine', () => {
  it('has exactly this transition table', () => {
    expect(NEXT).toEqual({
      idle: ['connecting', 'closed'],
      connecting: ['open', 'backoff', 'closed'],
      open: ['upgrading', 'backoff', 'closed'],
      upgrading: ['open', 'backoff', 'closed'],
      backoff: ['connecting', 'closed'],
      closed: [],
    })
    expect(Object.keys(NEXT).sort()).toEqual([...STATES].sort())
  })

  it.each(pairs.filter(([from, to]) => legal(from, to)))('allows %s -> %s', (from, to) => {
    expect(() => assertTransition(from, to)).not.toThrow()
  })

  it.each(pairs.filter(([from, to]) => !legal(from, to)))('refuses %s -> %s', (from, to) => {
    expect(() => assertTransition(from, to)).toThrow(`Illegal client state transition ${from} -> ${to}`)
  })

  it('has 13 legal and 23 illegal pairs', () => {
    expect(pairs.filter(([f, t]) => legal(f, t))).toHaveLength(13)
    expect(pairs.filter(([f, t]) => !legal(f, t))).toHaveLength(23)
  })

  it('never stays put', () => {
    for (const s of STATES) expect(() => assertTransition(s, s)).toThrow()
  })

  it('makes closed terminal', () => {
    for (const to of STATES) expect(() => assertTransition('closed', to)).toThrow()
  })

  it('can close from every other state', () => {
    for (const from of STATES.filter((s) => s !== 'closed')) expect(() => assertTransition(from, 'closed')).not.toThrow()
  })

  it('reaches open only through connecting or upgrading', () => {
    expect(STATES.filter((from) => legal(from, 'open'))).toEqual(['connecting', 'upgrading'])
  })
})
