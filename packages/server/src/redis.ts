// `@switchboard/server/redis`: the Redis adapter, an entry of its own so that only apps that use
// it load ioredis (an optional peer dependency), and the core stays free of it.
export {
  createRedisAdapter,
  type AdapterHealth,
  type AdapterHealthState,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisSource,
} from './adapters/redis.js'
