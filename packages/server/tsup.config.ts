import { defineConfig } from 'tsup'

export default defineConfig({
  // index: runtime-neutral (web standards only); node: the same API plus WebSocket, listen() and handleUpgrades();
  // redis: the Redis adapter, on its own so that only apps that use it load ioredis.
  entry: ['src/index.ts', 'src/node.ts', 'src/redis.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'es2022',
  sourcemap: true,
})
