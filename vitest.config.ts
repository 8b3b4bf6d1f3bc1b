import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string, entry = 'index') => fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url))

/** Tests import the packages by name and get their TypeScript sources (the Node entries, as Node resolves them). */
export const alias = {
  '@switchboard/protocol': src('protocol'),
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
    // test/soak runs on its own, one file at a time (test/run.mjs): its loads would skew the timing of the rest.
    exclude: ['test/browser/**', 'test/soak/**', '**/node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
