import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'es2022',
    sourcemap: true,
  },
  {
    // One file a page loads with <script type="module">, no bundler: dependencies inlined.
    entry: { 'switchboard.browser': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    noExternal: [/.*/],
    minify: true,
    sourcemap: true,
    outExtension: () => ({ js: '.js' }),
  },
])
