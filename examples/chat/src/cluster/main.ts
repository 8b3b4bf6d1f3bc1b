// `npm run start:cluster`: the chat as three nodes behind nginx. A redis-server, three chat
// servers (src/server.ts, each a process with REDIS_URL and NODE_NAME set) and nginx balancing
// them round robin, all on free loopback ports. Prints the URL and every PID; Ctrl-C stops them
// all by PID (nginx, the nodes, then Redis). A node that dies (`kill PID` from another terminal)
// is reported and the others carry on; Redis or nginx dying, or the last node, stops everything.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNginx, startRedis } from './daemons.js'
import { freePort, groupAlive, howItEnded, startChild, waitUntil, type Child } from './processes.js'

const EXAMPLE = fileURLToPath(new URL('../..', import.meta.url))
const NODE_NAMES = ['node-1', 'node-2', 'node-3']

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-chat-cluster-'))
const children: Child[] = []
const nodes: Child[] = []
let stopped: Promise<never> | undefined

/** A chat server on a free port, ready once its /health says it reaches Redis. */
async function startNode(name: string, redisUrl: string): Promise<Child> {
  const port = await freePort()
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl, NODE_NAME: name }
  // tsx resolves from the example's directory, whatever the launcher's working directory.
  const node = await startChild(name, `http://127.0.0.1:${port}`, process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: EXAMPLE, env })
  watch(node)
  await waitUntil(node, async () => (await fetch(`${node.url}/health`)).ok, 30_000)
  return node
}

/** Stops every child by PID, in order (nginx, the nodes, Redis), removes the temp directory, exits. */
function stopAll(code: number): Promise<never> {
  stopped ??= (async () => {
    const order = [...children].sort((a, b) => rank(a) - rank(b))
    console.log(`stopping ${order.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}`)
    for (const child of order) await child.stop()
    fs.rmSync(dir, { recursive: true, force: true })
    console.log('all stopped')
    process.exit(code)
  })()
  return stopped
}
const rank = (child: Child) => (child.name === 'nginx' ? 0 : child.name === 'redis-server' ? 2 : 1)

/** Reacts to a child that exits while the cluster runs: a node is reported, anything else stops all. */
function watch(child: Child): void {
  children.push(child)
  void child.exited.then(() => {
    if (stopped) return
    const why = `${child.name} (pid ${child.pid}) exited (${howItEnded(child)})`
    const left = nodes.filter((n) => n.running())
    if (nodes.includes(child) && left.length > 0) {
      console.log(`${why}; nginx passes its requests to ${left.map((n) => n.name).join(' and ')}`)
      return
    }
    console.error(`${why}: ${nodes.includes(child) ? 'no node is left' : 'the cluster cannot run without it'}, stopping everything`)
    if (child.name === 'redis-server') console.error(child.output())
    void stopAll(1)
  })
}

// Under `npm run`, one Ctrl-C may arrive more than once (npm and tsx pass it on): the stop
// already under way takes it. Each child gets 5 s before SIGKILL.
process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))
// Whatever else ends this process, no child outlives it.
process.on('exit', () => {
  for (const child of children) if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL')
})

try {
  const redis = await startRedis(dir)
  watch(redis)
  nodes.push(...(await Promise.all(NODE_NAMES.map((name) => startNode(name, redis.url)))))
  const nginx = await startNginx(
    dir,
    nodes.map((n) => Number(new URL(n.url).port)),
  )
  watch(nginx)
  const line = (c: Child) => `  ${c.name.padEnd(13)} pid ${String(c.pid).padEnd(8)} ${c.url}`
  console.log(
    [
      '',
      `Switchboard chat: ${nodes.length} nodes behind nginx (round robin) on ${nginx.url}`,
      ...[nginx, ...nodes, redis].map(line),
      `Stop one node and the others carry on: kill ${nodes[1]!.pid}   (${nodes[1]!.name})`,
      'Ctrl-C stops them all.',
      '',
    ].join('\n'),
  )
} catch (e) {
  console.error(`could not start the cluster: ${(e as Error).message}`)
  await stopAll(1)
}
