import { createMemoryAdapter } from '@switchboard/server'
import { slowAdapter } from '../helpers/slow-adapter.js'
import { describeAdapterConformance } from './suite.js'

// The memory adapter loses its history only with its process: a restart is a new adapter.
describeAdapterConformance('the memory adapter', {
  create: ({ idempotencyWindowMs }) => createMemoryAdapter({ idempotencyWindowMs }),
  loseHistory: () => createMemoryAdapter(),
  filtersByInterest: true,
})

// The same contract when every call and delivery takes time, as over a network.
describeAdapterConformance('the memory adapter behind 20 ms of latency', {
  create: ({ idempotencyWindowMs }) => slowAdapter(createMemoryAdapter({ idempotencyWindowMs }), { latencyMs: 20, deliveryLatencyMs: 20 }),
  loseHistory: () => slowAdapter(createMemoryAdapter(), { latencyMs: 20, deliveryLatencyMs: 20 }),
  filtersByInterest: true,
})
