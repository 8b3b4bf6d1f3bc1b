// What a measured phase cost, read before and after it: Redis commands (INFO commandstats), the
// nodes' CPU (summed over the three, asked through the orchestrator) and this client process's
// CPU and redis-server's, then divided by the messages the phase carried.
import { bytesBetween, serverStats } from '../driver/ipc.mjs'

/** Calls per command so far (`INFO commandstats`), without the INFO calls that read them. */
async function commandCalls(redis) {
  const calls = {}
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m && m[1] !== 'info') calls[m[1]] = Number(m[2])
  }
  return calls
}

/** redis-server's own CPU so far, in µs (`INFO cpu`: its main thread and the rest). */
async function redisCpuUs(redis) {
  const info = await redis.info('cpu')
  const seconds = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN)
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
}

/** The counters now; `costsBetween` turns two of these into costs per message. */
export async function readCounters(redis) {
  const [calls, redisCpu, nodes] = await Promise.all([commandCalls(redis), redisCpuUs(redis), serverStats()])
  return { calls, redisCpu, nodes, client: process.cpuUsage() }
}

const cpuUs = (a, b) => b.user - a.user + (b.system - a.system)

/**
 * Costs per publish and per delivery between two readings: Redis commands in total and command by
 * command (keyed `redis.<command>`: flat numbers, so runs summarize command by command), node
 * and client CPU in µs, wire bytes at the nodes.
 */
export function costsBetween(before, after, { publishes, deliveries }) {
  const byCommand = {}
  let commands = 0
  for (const [cmd, n] of Object.entries(after.calls)) {
    const delta = n - (before.calls[cmd] ?? 0)
    if (delta <= 0) continue
    byCommand[`redis.${cmd}`] = delta / publishes
    commands += delta
  }
  return {
    redisCommandsPerPublish: commands / publishes,
    redisCommandsPerDelivery: commands / deliveries,
    nodeCpuUsPerDelivery: cpuUs(before.nodes.cpu, after.nodes.cpu) / deliveries,
    redisCpuUsPerDelivery: (after.redisCpu - before.redisCpu) / deliveries,
    clientCpuUsPerDelivery: cpuUs(before.client, after.client) / deliveries,
    wireBytesPerDelivery: bytesBetween(before.nodes, after.nodes) / deliveries,
    ...byCommand,
  }
}
