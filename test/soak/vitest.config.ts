import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { alias } from '../../vitest.config.js'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

// Soaks and storms: thousands of sessions and inputs against a server in its own process. Run by
// `npm test` after the unit part, one file at a time, so their load does not skew other tests.
export default defineConfig({
  root: repoRoot,
  resolve: {
    alias,
  },
  test: {
    include: ['test/soak/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
})
