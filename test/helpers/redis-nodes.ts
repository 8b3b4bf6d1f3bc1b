import type { ClientOptions, SwitchboardClient, TransportName } from '@switchboard/client'
import type { LogEvent } from '@switchboard/server'
import { createRedisAdapter, type RedisAdapter } from '@switchboard/server/redis'
import { connectClient, startServer, type TestServer } from './fixture.js'
import { startRedis, type RedisServer, type RedisServerOptions } from './redis.js'

/** Switchboard nodes (the fixture's servers) sharing one redis-server, and the clients a test connected. */
export interface RedisNodes {
  redis: RedisServer
  adapters: RedisAdapter[]
  nodes: TestServer[]
  /** What the nodes' adapters logged (kind `adapter`), in order. */
  logs: LogEvent[]
  /** A client on node `i`, closed with the nodes. */
  connect(i: number, transport?: TransportName, options?: ClientOptions): SwitchboardClient
  /** Closes the clients, the nodes, then Redis. */
  close(): Promise<void>
}

export interface RedisNodesOptions extends RedisServerOptions {
  /** Where node `i` finds Redis (a proxy in between, say). Default: the server's URL. */
  urlOf?: (i: number, redis: RedisServer) => string | Promise<string>
}

/** Starts a redis-server and `count` nodes on it, each with its own Redis adapter. */
export async function startRedisNodes(count: number, options: RedisNodesOptions = {}): Promise<RedisNodes> {
  const redis = await startRedis(options)
  const logs: LogEvent[] = []
  const clients: SwitchboardClient[] = []
  const adapters: RedisAdapter[] = []
  const nodes: TestServer[] = []
  const close = async () => {
    for (const client of clients.splice(0)) client.close()
    await Promise.all(nodes.map((node) => node.close()))
    await redis.stop()
  }
  try {
    for (let i = 0; i < count; i++) {
      const adapter = createRedisAdapter({ url: (await options.urlOf?.(i, redis)) ?? redis.url })
      adapters.push(adapter)
      nodes.push(await startServer({ adapter, logger: (e) => e.kind === 'adapter' && logs.push(e) }))
    }
  } catch (e) {
    await close()
    throw e
  }
  return {
    redis,
    adapters,
    nodes,
    logs,
    connect(i, transport, clientOptions) {
      const client = connectClient(nodes[i]!.url, transport, clientOptions)
      clients.push(client)
      return client
    },
    close,
  }
}
