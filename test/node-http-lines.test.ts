import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { createSwitchboard } from '@switchboard/server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectClient } from './helpers/fixture.js'
import { createCertificate } from './helpers/nginx.js'

/**
 * The client's HTTP in Node (node:http and node:https, see packages/client/src/http/node-http.ts)
 * against origins other than plain IPv4: HTTPS with a certificate the process trusts, and an IPv6
 * loopback address, whose brackets a hostname must not keep. Over SSE and long polling, each line
 * carrying a call and its reply.
 */
const dist = fileURLToPath(new URL('../packages/client/dist/', import.meta.url))
const TRANSPORTS = ['sse', 'long-polling'] as const

function switchboardApp() {
  const sb = createSwitchboard().rpc<string, string>('echo', (text) => `echo ${text}`)
  const app = new Hono()
  app.route('/rt', sb.app)
  return { sb, app }
}

describe('over HTTPS, with a self-signed certificate the process trusts (NODE_EXTRA_CA_CERTS)', () => {
  let dir: string
  let cert: string
  let url: string
  let stop: () => Promise<void>

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'switchboard-https-'))
    const files = await createCertificate(dir)
    cert = files.cert
    const { sb, app } = switchboardApp()
    const server = serve({
      fetch: app.fetch,
      createServer: https.createServer,
      serverOptions: { key: await readFile(files.key), cert: await readFile(files.cert) },
      port: 0,
      hostname: '127.0.0.1',
    }) as https.Server
    await new Promise<void>((resolve) => server.once('listening', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rt`
    stop = async () => {
      await sb.close({ drainTimeoutMs: 0 })
      await new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections())
    }
  }, 30_000)

  afterAll(async () => {
    await stop?.()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  // A process of its own: the certificate must be trusted from its start. The built client, as
  // its users get it.
  const run = (transport: string, env: Record<string, string>) => {
    const script = `
      const { connect } = await import(${JSON.stringify(pathToFileURL(`${dist}node.js`).href)})
      const client = connect(${JSON.stringify(url)}, { transports: [${JSON.stringify(transport)}], reconnect: false })
      client.on('error', (e) => console.log('error', e.code, e.message))
      try { console.log(await client.call('echo', 'over tls'), client.transport) } finally { client.close() }`
    return new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 15_000, env: { ...process.env, ...env } },
        (error, stdout, stderr) => resolve(error ? `failed: ${stdout}${stderr}` : stdout.trim()),
      ),
    )
  }

  it.each(TRANSPORTS)('%s carries a call and its reply', async (transport) => {
    expect(await run(transport, { NODE_EXTRA_CA_CERTS: cert })).toBe(`echo over tls ${transport}`)
  })

  it('refuses the line when the certificate is not trusted, with the client closed on CONNECT_FAILED', async () => {
    const output = await run('long-polling', {})
    expect(output).toMatch(/^failed: error CONNECT_FAILED/)
    expect(output).not.toContain('echo over tls')
  })
})

describe('on the IPv6 loopback address', () => {
  it.each(TRANSPORTS)('%s carries a call and its reply to http://[::1]', async (transport) => {
    const { sb, app } = switchboardApp()
    const server = serve({ fetch: app.fetch, port: 0, hostname: '::1' })
    await new Promise<void>((resolve) => server.once('listening', resolve))
    const client = connectClient(`http://[::1]:${(server.address() as AddressInfo).port}/rt`, transport)
    try {
      await expect(client.call('echo', 'over v6')).resolves.toBe('echo over v6')
      expect(client.transport).toBe(transport)
    } finally {
      client.close()
      await sb.close({ drainTimeoutMs: 0 })
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
