import {
  type createMemoryAdapter,
  createSwitchboard,
  type Adapter,
  type ChannelContext,
  type ChannelOptions,
  type ChannelPosition,
  type ListenOptions,
  type Listening,
  type LogEvent as ServerLogEvent,
  type Logger,
  type MissingMessages,
  type NegotiateResponse,
  type PublishOptions,
  type RpcContext,
  type RpcHandler,
  type SlowConsumerPolicy,
  type StoredMessage,
  type SubscribeResult,
  type Switchboard,
  type SwitchboardOptions,
} from '@switchboard/server'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type Channel,
  connect,
  SwitchboardClient,
  SwitchboardError,
  type BackoffOptions,
  type ChannelEvents,
  type ChannelMessage,
  type ChannelState,
  type ClientOptions,
  type ClientState,
  type ConnectionEvents,
  type ErrorCode,
  type LogEvent,
  type SessionChange,
  type StateChange,
  type Subscribed,
  type TransportChange,
  type TransportName,
  type WebSocketConstructor,
  type WebSocketLike,
} from './index.js'

/**
 * Type tests: `tsc -p tsconfig.json` checks them (vitest only runs the runtime parts).
 * No client here opens a connection: `new SwitchboardClient(url)` stays idle until open().
 */

interface Chat {
  text: string
}

/** Paths (up to two levels: members, and the parameters/results of methods) whose type is `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false
type AnyPaths<T, Path extends string = '', Depth extends unknown[] = []> =
  IsAny<T> extends true
    ? Path
    : Depth['length'] extends 2
      ? never
      : T extends (...args: infer A) => infer R
        ?
            | AnyPaths<R, `${Path}()`, [...Depth, 0]>
            | { [I in keyof A & `${number}`]: AnyPaths<A[I], `${Path}(#${I})`, [...Depth, 0]> }[keyof A & `${number}`]
        : T extends object
          ? { [K in keyof T & string]-?: AnyPaths<T[K], `${Path}.${K}`, [...Depth, 0]> }[keyof T & string]
          : never

const idleClient = () => new SwitchboardClient('http://127.0.0.1:9/rt', { reconnect: false })

describe('client types', () => {
  it('types channel messages with the channel generic', () => {
    const client = idleClient()
    const room = client.channel<Chat>('room:lobby')
    expectTypeOf(room).toEqualTypeOf<Channel<Chat>>()
    room.on('message', (m) => {
      expectTypeOf(m).toEqualTypeOf<ChannelMessage<Chat>>()
      expectTypeOf(m.data).toEqualTypeOf<Chat>()
      expectTypeOf(m.data).not.toBeAny()
      expectTypeOf(m.offset).toEqualTypeOf<number>()
      expectTypeOf(m.channel).toEqualTypeOf<string>()
      expectTypeOf(m.skipped).toEqualTypeOf<number | undefined>()
    })
    room.on('subscribed', (s) => expectTypeOf(s).toEqualTypeOf<Subscribed>())
    room.on('error', (e) => expectTypeOf(e).toEqualTypeOf<SwitchboardError>())
    expectTypeOf(room.state).toEqualTypeOf<ChannelState>()
    expectTypeOf(room.offset).toEqualTypeOf<number | null>()
    expectTypeOf(room.subscribe).returns.toEqualTypeOf<Promise<void>>()
    // Runtime: one object per name, whatever the generic.
    expect(client.channel('room:lobby')).toBe(room)
    expect(room.name).toBe('room:lobby')
    expect(room.state).toBe('unsubscribed')
    client.close()
  })

  it('lets publish take only the channel message type', () => {
    const room = idleClient().channel<Chat>('room:lobby')
    expectTypeOf(room.publish).parameter(0).toEqualTypeOf<Chat>()
    expectTypeOf(room.publish).returns.toEqualTypeOf<Promise<{ offset: number }>>()
    expectTypeOf(room.publish).toBeCallableWith({ text: 'hi' })
    // Never called: only the compiler looks at these.
    const wrong = () => {
      // @ts-expect-error: text must be a string
      void room.publish({ text: 1 })
      // @ts-expect-error: missing text
      void room.publish({})
      // @ts-expect-error: not a Chat at all
      void room.publish('hi')
    }
    expect(typeof wrong).toBe('function')
  })

  it('defaults a channel to unknown messages, not any', () => {
    const ch = idleClient().channel('news')
    expectTypeOf(ch).toEqualTypeOf<Channel<unknown>>()
    ch.on('message', (m) => {
      expectTypeOf(m.data).toBeUnknown()
      expectTypeOf(m.data).not.toBeAny()
    })
  })

  it('types call() with its request and result generics', async () => {
    const client = idleClient()
    const sum = client.call<{ a: number }, number>('add', { a: 1 })
    expectTypeOf(sum).toEqualTypeOf<Promise<number>>()
    expectTypeOf<ReturnType<typeof client.call>>().toEqualTypeOf<Promise<unknown>>()
    const wrong = () => {
      // @ts-expect-error: a must be a number
      void client.call<{ a: number }, number>('add', { a: '1' })
    }
    expect(typeof wrong).toBe('function')
    // Runtime: the call waits in the outbox, and close() rejects it with CLOSED.
    client.close()
    await expect(sum).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(client.call('after', null)).rejects.toMatchObject({ code: 'CLOSED' })
    // ready() of a client closed before it opened rejects with CLOSED too.
    await expect(client.ready()).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('types the client events', () => {
    const client = idleClient()
    const states: StateChange[] = []
    client.on('state', (e) => {
      expectTypeOf(e).toEqualTypeOf<StateChange>()
      expectTypeOf(e.from).toEqualTypeOf<ClientState>()
      expectTypeOf(e.code).toEqualTypeOf<ErrorCode | undefined>()
      states.push(e)
    })
    client.on('transport', (e) => {
      expectTypeOf(e).toEqualTypeOf<TransportChange>()
      expectTypeOf(e.to).toEqualTypeOf<TransportName | null>()
    })
    client.on('session', (e) => {
      expectTypeOf(e).toEqualTypeOf<SessionChange>()
      expectTypeOf(e.resumed).toEqualTypeOf<boolean>()
    })
    client.on('error', (e) => expectTypeOf(e).toEqualTypeOf<SwitchboardError>())
    expectTypeOf(client.state).toEqualTypeOf<ClientState>()
    expectTypeOf(client.transport).toEqualTypeOf<TransportName | null>()
    expectTypeOf(client.sessionId).toEqualTypeOf<string | null>()
    expectTypeOf(client.ready).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(connect).returns.toEqualTypeOf<SwitchboardClient>()
    expectTypeOf(connect).parameter(1).toEqualTypeOf<ClientOptions | undefined>()
    // Runtime: a client that was never opened closes straight from idle.
    expect(client.state).toBe('idle')
    client.close()
    expect(states).toEqual([{ from: 'idle', to: 'closed', reason: 'close() called' }])
  })

  it('refuses event names that are not in the event map', () => {
    type AcceptsUnknownName<E> = 'nope' extends keyof E ? true : false
    expectTypeOf<AcceptsUnknownName<ConnectionEvents>>().toEqualTypeOf<false>()
    expectTypeOf<AcceptsUnknownName<ChannelEvents<Chat>>>().toEqualTypeOf<false>()
    const client = new SwitchboardClient('http://127.0.0.1:1/rt')
    // @ts-expect-error: not an event of the client
    client.on('stat', () => {})
    // @ts-expect-error: not an event of a channel
    client.channel<Chat>('room:x').on('mesage', () => {})
    client.close()
  })

  it('matches errors on a typed code', () => {
    const e = new SwitchboardError('TIMEOUT')
    expectTypeOf(e.code).toEqualTypeOf<ErrorCode>()
    expectTypeOf(e.data).toBeUnknown()
    // @ts-expect-error: not a code
    void (() => new SwitchboardError('NOT_A_CODE'))
    expect(e.code).toBe('TIMEOUT')
  })

  it('exports no any', () => {
    expectTypeOf<AnyPaths<SwitchboardClient>>().toBeNever()
    expectTypeOf<AnyPaths<Channel<Chat>>>().toBeNever()
    expectTypeOf<AnyPaths<ChannelMessage<Chat>>>().toBeNever()
    expectTypeOf<AnyPaths<ChannelEvents<Chat>>>().toBeNever()
    expectTypeOf<AnyPaths<Subscribed>>().toBeNever()
    expectTypeOf<AnyPaths<ClientOptions>>().toBeNever()
    expectTypeOf<AnyPaths<ConnectionEvents>>().toBeNever()
    expectTypeOf<AnyPaths<TransportChange>>().toBeNever()
    expectTypeOf<AnyPaths<SessionChange>>().toBeNever()
    expectTypeOf<AnyPaths<StateChange>>().toBeNever()
    expectTypeOf<AnyPaths<BackoffOptions>>().toBeNever()
    expectTypeOf<AnyPaths<LogEvent>>().toBeNever()
    expectTypeOf<AnyPaths<WebSocketLike>>().toBeNever()
    expectTypeOf<AnyPaths<WebSocketConstructor>>().toBeNever()
    expectTypeOf<AnyPaths<SwitchboardError>>().toBeNever()
    expectTypeOf<AnyPaths<typeof connect>>().toBeNever()
    // The checker itself finds an any where there is one.
    // biome-ignore lint/suspicious/noExplicitAny: the any this checker must find
    expectTypeOf<AnyPaths<{ a: { b: any } }>>().toEqualTypeOf<'.a.b'>()
    // biome-ignore lint/suspicious/noExplicitAny: the any this checker must find
    expectTypeOf<AnyPaths<{ f(x: any): void }>>().toEqualTypeOf<'.f(#0)'>()
  })
})

describe('server types', () => {
  it('passes the Identity generic to rpc handlers and channel hooks', async () => {
    const sb = createSwitchboard<{ user: string }>()
    expectTypeOf(sb).toEqualTypeOf<Switchboard<{ user: string }>>()
    sb.rpc('whoami', (data, ctx) => {
      expectTypeOf(data).toBeUnknown()
      expectTypeOf(ctx).toEqualTypeOf<RpcContext<{ user: string }>>()
      expectTypeOf(ctx.identity).toEqualTypeOf<{ user: string }>()
      expectTypeOf(ctx.identity).not.toBeAny()
      return ctx.identity.user
    })
    sb.channel<Chat>('room:*', {
      authorize: (ctx) => {
        expectTypeOf(ctx).toEqualTypeOf<ChannelContext<{ user: string }>>()
        expectTypeOf(ctx.action).toEqualTypeOf<'subscribe' | 'publish'>()
        return ctx.identity.user !== ''
      },
      onPublish: (data, ctx) => {
        expectTypeOf(data).toBeUnknown()
        expectTypeOf(ctx.identity).toEqualTypeOf<{ user: string }>()
        return { text: String(data) }
      },
    })
    sb.channel<Chat>('checked:*', {
      // @ts-expect-error: onPublish must return the channel's message type
      onPublish: () => ({ text: 1 }),
    })
    // Runtime: the server publishes to its in-memory adapter without any client.
    expect(await sb.publish<Chat>('room:a', { text: 'hi' })).toBe(1)
    expect(await sb.publish<Chat>('room:a', { text: 'again' })).toBe(2)
    await sb.close()
  })

  it('types rpc requests and results', async () => {
    const sb = createSwitchboard()
    expectTypeOf(sb).toEqualTypeOf<Switchboard<null>>()
    sb.rpc<{ a: number; b: number }, number>('add', (data, ctx) => {
      expectTypeOf(data).toEqualTypeOf<{ a: number; b: number }>()
      expectTypeOf(ctx.identity).toBeNull()
      return data.a + data.b
    })
    sb.rpc<{ ms: number }, string>('slow', async () => 'done')
    // @ts-expect-error: the handler must return the declared result type
    sb.rpc<{ a: number }, number>('wrong', () => 'not a number')
    expectTypeOf<RpcHandler<{ a: number }, number, null>>().returns.toEqualTypeOf<number | Promise<number>>()
    // @ts-expect-error: the message must match the publish generic
    void (() => sb.publish<Chat>('room:a', { text: 2 }))
    expect(() => sb.rpc('add', () => 0)).toThrow('defined twice')
    await sb.close()
  })

  it('infers the Identity from authenticate', async () => {
    const sb = createSwitchboard({ authenticate: () => ({ user: 'ann', admin: true }) })
    expectTypeOf(sb).toEqualTypeOf<Switchboard<{ user: string; admin: boolean }>>()
    sb.rpc('me', (_data, ctx) => {
      expectTypeOf(ctx.identity.admin).toEqualTypeOf<boolean>()
      return ctx.identity
    })
    expect(sb.sessionCount).toBe(0)
    await sb.close()
  })

  it('shares one message type between a server channel and a client channel', () => {
    type ServerMsg<S> = S extends Switchboard ? Parameters<S['publish']>[1] : never
    const room = idleClient().channel<Chat>('room:a')
    // Publishing from either end takes the same declared type.
    expectTypeOf(room.publish).parameter(0).toEqualTypeOf<Chat>()
    expectTypeOf<ChannelOptions<Chat, { user: string }>['onPublish']>().returns.toEqualTypeOf<Chat | Promise<Chat>>()
    expectTypeOf<ServerMsg<Switchboard>>().toBeUnknown()
  })

  it('names the slow-consumer policies a channel may take', () => {
    expectTypeOf<ChannelOptions['slowConsumer']>().toEqualTypeOf<SlowConsumerPolicy | undefined>()
    expectTypeOf<SlowConsumerPolicy>().toEqualTypeOf<'catch-up' | 'latest' | 'end'>()
  })

  it('exports no any', () => {
    expectTypeOf<AnyPaths<Omit<Switchboard<{ user: string }>, 'app'>>>().toBeNever()
    expectTypeOf<AnyPaths<SwitchboardOptions<{ user: string }>>>().toBeNever()
    expectTypeOf<AnyPaths<ChannelOptions<Chat, { user: string }>>>().toBeNever()
    expectTypeOf<AnyPaths<ChannelContext<{ user: string }>>>().toBeNever()
    expectTypeOf<AnyPaths<RpcContext<{ user: string }>>>().toBeNever()
    expectTypeOf<AnyPaths<RpcHandler<{ a: number }, number, { user: string }>>>().toBeNever()
    expectTypeOf<AnyPaths<Adapter>>().toBeNever()
    expectTypeOf<AnyPaths<ChannelPosition>>().toBeNever()
    expectTypeOf<AnyPaths<StoredMessage>>().toBeNever()
    expectTypeOf<AnyPaths<SubscribeResult>>().toBeNever()
    expectTypeOf<AnyPaths<PublishOptions>>().toBeNever()
    // The server's answer is what the client's `subscribed` event carries.
    expectTypeOf<SubscribeResult['missing']>().toEqualTypeOf<MissingMessages | undefined>()
    expectTypeOf<Subscribed['missing']>().toEqualTypeOf<MissingMessages | undefined>()
    expectTypeOf<AnyPaths<ServerLogEvent>>().toBeNever()
    expectTypeOf<AnyPaths<Logger>>().toBeNever()
    expectTypeOf<AnyPaths<NegotiateResponse>>().toBeNever()
    expectTypeOf<AnyPaths<ListenOptions>>().toBeNever()
    expectTypeOf<AnyPaths<Omit<Listening, 'server'>>>().toBeNever()
    expectTypeOf<AnyPaths<typeof createSwitchboard>>().toBeNever()
    expectTypeOf<AnyPaths<typeof createMemoryAdapter>>().toBeNever()
  })
})
