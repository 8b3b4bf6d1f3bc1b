import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { alias } from '../../vitest.config.js'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

// Real-browser tests: run by `npm test` after the build, one file at a time (each file drives
// its own browser processes and servers), with timeouts that allow for a browser launch.
export default defineConfig({
  root: repoRoot,
  resolve: {
    alias,
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
