import { afterEach, describe, expect, it, vi } from 'vitest'
import { Emitter } from './emitter.js'

interface Events extends Record<string, unknown> {
  ping: number
  note: string
}

/** `emit` is protected: owners call it. */
class TestEmitter extends Emitter<Events> {
  override emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    super.emit(event, payload)
  }
  listening(event: keyof Events): boolean {
    return this.hasListeners(event)
  }
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('Emitter', () => {
  it('calls every listener of an event with the payload, in the order added', () => {
    const e = new TestEmitter()
    const calls: string[] = []
    e.on('ping', (n) => calls.push(`a${n}`))
    e.on('ping', (n) => calls.push(`b${n}`))
    e.on('note', (s) => calls.push(`note ${s}`))
    e.emit('ping', 1)
    e.emit('note', 'hi')
    e.emit('ping', 2)
    expect(calls).toEqual(['a1', 'b1', 'note hi', 'a2', 'b2'])
  })

  it('does nothing for an event nobody listens to', () => {
    const e = new TestEmitter()
    expect(() => e.emit('ping', 1)).not.toThrow()
    expect(e.listening('ping')).toBe(false)
  })

  it('removes a listener with the function on() returned', () => {
    const e = new TestEmitter()
    const a = vi.fn()
    const b = vi.fn()
    const offA = e.on('ping', a)
    e.on('ping', b)
    e.emit('ping', 1)
    offA()
    e.emit('ping', 2)
    expect(a.mock.calls).toEqual([[1]])
    expect(b.mock.calls).toEqual([[1], [2]])
    offA() // twice is harmless
    expect(e.listening('ping')).toBe(true)
  })

  it('keeps a listen() listener in its place among on() listeners, and past their removal', () => {
    const e = new TestEmitter()
    const calls: string[] = []
    const offA = e.on('ping', (n) => calls.push(`a${n}`))
    e.listen('ping', (n) => calls.push(`kept${n}`))
    e.on('ping', (n) => calls.push(`b${n}`))
    e.emit('ping', 1)
    offA()
    e.emit('ping', 2)
    expect(calls).toEqual(['a1', 'kept1', 'b1', 'kept2', 'b2'])
  })

  it('reports whether an event has listeners', () => {
    const e = new TestEmitter()
    const off = e.on('note', () => {})
    expect(e.listening('note')).toBe(true)
    expect(e.listening('ping')).toBe(false)
    off()
    expect(e.listening('note')).toBe(false)
  })

  it('runs a once() listener for the next emit only', () => {
    const e = new TestEmitter()
    const once = vi.fn()
    const always = vi.fn()
    e.once('ping', once)
    e.on('ping', always)
    e.emit('ping', 1)
    e.emit('ping', 2)
    expect(once.mock.calls).toEqual([[1]])
    expect(always.mock.calls).toEqual([[1], [2]])
    expect(e.listening('ping')).toBe(true)
  })

  it('cancels a once() listener before it runs', () => {
    const e = new TestEmitter()
    const once = vi.fn()
    const off = e.once('ping', once)
    off()
    e.emit('ping', 1)
    expect(once).not.toHaveBeenCalled()
    expect(e.listening('ping')).toBe(false)
  })

  it('lets a listener remove a later one during an emit', () => {
    const e = new TestEmitter()
    const later = vi.fn()
    let offLater = () => {}
    e.on('ping', () => offLater())
    offLater = e.on('ping', later)
    e.emit('ping', 1)
    expect(later).not.toHaveBeenCalled()
  })

  it('keeps delivering to the others when a listener throws, and rethrows the error in a microtask', () => {
    const tasks: (() => void)[] = []
    vi.stubGlobal('queueMicrotask', (task: () => void) => void tasks.push(task))
    const e = new TestEmitter()
    const boom = new Error('listener failed')
    const before = vi.fn()
    const after = vi.fn()
    e.on('ping', before)
    e.on('ping', () => {
      throw boom
    })
    e.on('ping', after)
    expect(() => e.emit('ping', 7)).not.toThrow()
    expect(before).toHaveBeenCalledWith(7)
    expect(after).toHaveBeenCalledWith(7)
    // The error is not swallowed: it surfaces on its own, outside the emitter's caller.
    expect(tasks).toHaveLength(1)
    expect(() => tasks[0]!()).toThrow(boom)
  })

  it('rethrows each listener error separately', () => {
    const tasks: (() => void)[] = []
    vi.stubGlobal('queueMicrotask', (task: () => void) => void tasks.push(task))
    const e = new TestEmitter()
    e.on('note', (s) => {
      throw new Error(`first ${s}`)
    })
    e.on('note', (s) => {
      throw new Error(`second ${s}`)
    })
    e.emit('note', 'x')
    expect(tasks).toHaveLength(2)
    expect(() => tasks[0]!()).toThrow('first x')
    expect(() => tasks[1]!()).toThrow('second x')
  })

  it('keeps a throwing once() listener removed', () => {
    vi.stubGlobal('queueMicrotask', () => {})
    const e = new TestEmitter()
    const once = vi.fn(() => {
      throw new Error('once failed')
    })
    e.once('ping', once)
    e.emit('ping', 1)
    e.emit('ping', 2)
    expect(once).toHaveBeenCalledTimes(1)
  })

  // A once() listener that re-subscribes itself ("handle the next one") must wait for the next emit,
  // as with Node's EventEmitter and the DOM's EventTarget; bounded to 5 calls so a regression cannot hang.
  it('does not call a listener added during an emit until the next emit', () => {
    const e = new TestEmitter()
    let calls = 0
    const handleNext = () => {
      calls++
      if (calls < 5) e.once('ping', handleNext)
    }
    e.once('ping', handleNext)
    e.emit('ping', 1)
    expect(calls).toBe(1)
  })
})
