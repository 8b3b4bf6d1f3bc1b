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

// Tests run against the TypeScript sources, so `npm test` needs no build for the unit and loopback suites.
export default defineConfig({
  resolve: {
    alias,
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/browser/**', '**/node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
