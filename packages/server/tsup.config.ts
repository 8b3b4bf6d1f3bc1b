import { defineConfig } from 'tsup'

export default defineConfig({
  // index: runtime-neutral (web standards only); node: the same API plus WebSocket, listen() and handleUpgrades().
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'es2022',
  sourcemap: true,
})
