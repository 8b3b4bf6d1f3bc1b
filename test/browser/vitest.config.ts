import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const src = (pkg: string) => fileURLToPath(new URL(`../../packages/${pkg}/src/index.ts`, import.meta.url))

// Real-browser tests: run by `npm test` after the build, one file at a time (each file drives
// its own browser processes and servers), with timeouts that allow for a browser launch.
export default defineConfig({
  root: repoRoot,
  resolve: {
    alias: {
      '@switchboard/protocol': src('protocol'),
      '@switchboard/server': src('server'),
      '@switchboard/client': src('client'),
    },
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
