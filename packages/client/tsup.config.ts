import { defineConfig } from 'tsup'

export default defineConfig([
  {
    // index: browsers and their bundlers; node: the same API with HTTP over node:http (the "node" condition).
    entry: ['src/index.ts', 'src/node.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'es2022',
    sourcemap: true,
    // The Node entry imports node:http as written: a bare 'http' could resolve to a package.
    removeNodeProtocol: false,
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
