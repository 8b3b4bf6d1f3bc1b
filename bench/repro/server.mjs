// Starts the bench's Switchboard server (src/servers/switchboard.mjs) in a child process on
// 127.0.0.1 and resolves to its URL and a stop function. Shared by the repro scripts.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export async function startServer() {
  const child = fork(fileURLToPath(new URL('../src/servers/switchboard.mjs', import.meta.url)), [], { execArgv: ['--expose-gc'] })
  const { port } = await new Promise((resolve, reject) => {
    child.on('message', (m) => m?.type === 'ready' && resolve(m))
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)))
  })
  return { url: `http://127.0.0.1:${port}/rt`, stop: () => child.kill('SIGKILL') }
}
