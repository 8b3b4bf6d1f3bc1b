import { separateSuite } from '../../vitest.config.js'

// Real-browser tests: run by `npm test` after the build, one file at a time (each file drives
// its own browser processes and servers), with timeouts that allow for a browser launch.
export default separateSuite('browser', 60_000)
