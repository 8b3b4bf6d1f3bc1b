import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string, entry = 'index') => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url))

/** Tests import the packages by name and get their TypeScript sources (the Node entries, as Node resolves them). */
export const alias = {
  '@switchboard/protocol': src('protocol'),
  // Before '@switchboard/server', which would otherwise take the subpath as a path under node.ts.
  '@switchboard/server/redis': src('server', 'redis'),
  '@switchboard/server': src('server', 'node'),
  '@switchboard/client': src('client', 'node'),
}

/**
 * A suite under test/ that runs on its own after the unit part, one file at a time (each drives
 * its own processes, browsers or thousands of sessions), with timeouts of `timeoutMs`.
 */
export function separateSuite(folder: string, timeoutMs: number) {
  return defineConfig({
    root: fileURLToPath(new URL('.', import.meta.url)),
    resolve: { alias },
    test: { include: [`test/${folder}/**/*.test.ts`], testTimeout: timeoutMs, hookTimeout: timeoutMs, fileParallelism: false },
  })
}

// Tests run against the TypeScript sources, so `npm test` needs no build for the unit and loopback suites.
export default defineConfig({
  resolve: {
    alias,
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // test/soak runs on its own, one file at a time (test/run.mjs): its loads would skew the timing of the rest.
    exclude: ['test/browser/**', 'test/soak/**', '**/node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
