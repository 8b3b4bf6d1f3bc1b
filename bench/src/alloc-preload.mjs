// Loaded with --import into a bench server by connect-memory.mjs: the first SIGUSR2 starts V8's
// sampling heap profiler (collected objects included), the second stops it and writes the
// profile as JSON to $ALLOC_OUT. Nothing else changes in the server.
import fs from 'node:fs'
import { Session } from 'node:inspector'

const session = new Session()
session.connect()
let sampling = false

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
    return
  }
  sampling = false
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) throw error
    fs.writeFileSync(process.env.ALLOC_OUT, JSON.stringify(result.profile))
  })
})
