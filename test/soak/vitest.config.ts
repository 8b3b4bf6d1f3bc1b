import { separateSuite } from '../../vitest.config.js'

// Soaks and storms: thousands of sessions and inputs against a server in its own process. Run by
// `npm test` after the unit part, one file at a time, so their load does not skew other tests.
export default separateSuite('soak', 180_000)
