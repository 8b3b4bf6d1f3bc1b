// `npm start`: the chat on http://127.0.0.1:3000 (PORT and HOST override).
import { listen } from '@switchboard/server'
import { createChatApp } from './app.js'

const { app, sb } = createChatApp()
const server = await listen(app, { port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })
// Listening on every interface: print an address a local browser can open.
const url = /^http:\/\/(0\.0\.0\.0|\[::\]):/.test(server.url) ? `http://localhost:${server.port}` : server.url
console.log(`Switchboard chat on ${url}`)

let stopping = false
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1) // a second Ctrl-C: do not wait
  stopping = true
  console.log(`${signal}: closing sessions and the server`)
  await sb.close()
  await server.close()
}
process.on('SIGINT', (signal) => void stop(signal))
process.on('SIGTERM', (signal) => void stop(signal))
