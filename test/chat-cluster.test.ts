import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { SwitchboardClient } from '@switchboard/client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ChatMessage } from '../examples/chat/src/app.js'
import { groupAlive } from '../examples/chat/src/cluster/processes.js'
import { connectClient } from './helpers/fixture.js'

/**
 * `npm run start:cluster` (examples/chat/src/cluster/main.ts): redis-server, three chat nodes and
 * nginx round robin, run as the command runs them. The chat servers import the built packages:
 * run `npm run build` first (npm test does).
 */
const LAUNCHER = fileURLToPath(new URL('../examples/chat/src/cluster/main.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Launched {
  process: ChildProcess
  /** nginx's URL, the one the launcher prints first. */
  url: string
  /** Every child the launcher listed: name -> { pid, url }. */
  children: Map<string, { pid: number; url: string }>
  output(): string
  exited: Promise<number | null>
}

let launched: Launched | undefined
const clients: SwitchboardClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  // A test that failed half-way still leaves nothing running.
  if (launched && launched.process.exitCode === null) {
    launched.process.kill('SIGINT')
    await launched.exited
  }
  for (const { pid } of launched?.children.values() ?? []) if (groupAlive(pid)) process.kill(-pid, 'SIGKILL')
  launched = undefined
})

async function launch(): Promise<Launched> {
  const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  launched = { process: child, url: '', children: new Map(), output: () => output, exited }
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the launcher exited (${child.exitCode}):\n${output}`)
      expect(output).toContain('Ctrl-C stops them all.')
    },
    { timeout: 60_000, interval: 100 },
  )
  for (const [, name, pid, url] of output.matchAll(/^ {2}(\S+)\s+pid (\d+)\s+(\S+)$/gm)) launched.children.set(name!, { pid: Number(pid), url: url! })
  launched.url = /behind nginx \(round robin\) on (\S+)/.exec(output)![1]!
  return launched
}

const nodeOf = async (url: string) => ((await (await fetch(`${url}/node`)).json()) as { node: string }).node
const nodesAnswering = async (url: string, requests: number) => {
  const seen = new Set<string>()
  for (let i = 0; i < requests; i++) seen.add(await nodeOf(url))
  return [...seen].sort()
}
const pidOf = (cluster: Launched, name: string) => cluster.children.get(name)!.pid

describe('the chat as three nodes behind nginx', () => {
  it('serves through nginx from each of the three nodes, and stops every process it started on SIGINT', { timeout: 90_000 }, async () => {
    const cluster = await launch()
    expect([...cluster.children.keys()].sort()).toEqual(['nginx', 'node-1', 'node-2', 'node-3', 'redis-server'])
    // Round robin: consecutive requests go to each node in turn.
    expect(await nodesAnswering(cluster.url, 6)).toEqual(['node-1', 'node-2', 'node-3'])

    // A message published on node 1 reaches a client of node 3 through Redis, stamped with node 1.
    const [on1, on3] = ['node-1', 'node-3'].map((name) => {
      const client = connectClient(`${cluster.children.get(name)!.url}/rt`, 'websocket')
      clients.push(client)
      return client
    })
    const heard: ChatMessage[] = []
    on3!.channel<ChatMessage>('room:lobby').on('message', (m) => heard.push(m.data))
    await on3!.channel('room:lobby').subscribe()
    await on1!.channel('room:lobby').publish({ name: 'Ada', text: 'hello from node 1' })
    await vi.waitFor(() => expect(heard).toEqual([expect.objectContaining({ name: 'Ada', text: 'hello from node 1', node: 'node-1' })]))
    // The stats call is answered by the node holding the session.
    expect(await on3!.call('stats', null)).toEqual({ sessions: expect.any(Number), node: 'node-3' })

    cluster.process.kill('SIGINT')
    expect(await cluster.exited).toBe(0)
    expect(cluster.output()).toContain('all stopped')
    for (const [name, { pid }] of cluster.children) expect(groupAlive(pid), `${name} (pid ${pid})`).toBe(false)
  })

  it('keeps serving through the other nodes when one node is killed', { timeout: 90_000 }, async () => {
    const cluster = await launch()
    const pid = pidOf(cluster, 'node-2')
    process.kill(pid, 'SIGKILL')
    await vi.waitFor(() =>
      expect(cluster.output()).toContain(`node-2 (pid ${pid}) exited (signal SIGKILL); nginx passes its requests to node-1 and node-3`),
    )
    expect(await nodesAnswering(cluster.url, 6)).toEqual(['node-1', 'node-3'])
    expect(cluster.process.exitCode).toBe(null)

    cluster.process.kill('SIGINT')
    expect(await cluster.exited).toBe(0)
    for (const [name, { pid }] of cluster.children) expect(groupAlive(pid), `${name} (pid ${pid})`).toBe(false)
  })

  it.each(['redis-server', 'nginx'])('stops everything and says why when %s dies', { timeout: 90_000 }, async (name) => {
    const cluster = await launch()
    const pid = pidOf(cluster, name)
    process.kill(pid, 'SIGKILL')
    expect(await cluster.exited).toBe(1)
    expect(cluster.output()).toContain(`${name} (pid ${pid}) exited (signal SIGKILL): the cluster cannot run without it, stopping everything`)
    for (const [child, { pid }] of cluster.children) expect(groupAlive(pid), `${child} (pid ${pid})`).toBe(false)
  })

  it('stops everything when the last node dies', { timeout: 90_000 }, async () => {
    const cluster = await launch()
    for (const name of ['node-1', 'node-2']) process.kill(pidOf(cluster, name), 'SIGKILL')
    await vi.waitFor(() => expect(cluster.output()).toContain('nginx passes its requests to node-3'))
    const pid = pidOf(cluster, 'node-3')
    process.kill(pid, 'SIGKILL')
    expect(await cluster.exited).toBe(1)
    expect(cluster.output()).toContain(`node-3 (pid ${pid}) exited (signal SIGKILL): no node is left, stopping everything`)
    for (const [child, { pid }] of cluster.children) expect(groupAlive(pid), `${child} (pid ${pid})`).toBe(false)
  })

  it('names the missing program and starts nothing without it', { timeout: 30_000 }, async () => {
    // redis-server lives in /usr/bin, which this PATH leaves out (nginx would still be found in /usr/sbin).
    const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER], { cwd: ROOT, env: { ...process.env, PATH: '/nonexistent' } })
    let output = ''
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(output).toContain('could not start the cluster: redis-server is not installed: apt-get install -y redis-server')
  })
})
