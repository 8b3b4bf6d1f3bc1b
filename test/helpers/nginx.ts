import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { requireCommand } from './child-process.js'
import { startConfiguredDaemon } from './daemon.js'

/**
 * How the nginx in front of the app treats realtime traffic:
 * - `websocket`: (a) a correct WebSocket + streaming reverse proxy;
 * - `strip-upgrade`: (b) drops Upgrade/Connection, so a WebSocket handshake reaches the app as a plain GET;
 * - `buffering`: (c) buffers whole responses (HTTP/1.0 upstream) and ignores the app's
 *   `X-Accel-Buffering: no`, like a proxy that buffers regardless: an SSE stream shows nothing;
 * - `tls`: (a) behind HTTPS (and HTTP/2) with a self-signed certificate, so pages use https:// and wss://.
 */
export type NginxMode = 'websocket' | 'strip-upgrade' | 'buffering' | 'tls'

export interface Nginx {
  /** The port nginx listens on (127.0.0.1). */
  readonly port: number
  readonly pid: number
  /** The temp directory holding the config, logs and (for `tls`) the certificate. */
  readonly dir: string
  /** The access log so far. */
  accessLog(): string
  /** SIGTERM by PID (fast; SIGQUIT would wait for open WebSockets), then removes the directory. */
  stop(): Promise<void>
}

// `Host $http_host` keeps host:port and `X-Forwarded-Proto` says whether the browser spoke TLS, so
// the app's same-origin check (Origin scheme, host and port) holds behind the proxy; nginx's
// `$host` would drop the port.
const PASS = 'proxy_pass http://app; proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto $scheme;'
const LOCATIONS: Record<NginxMode, string> = {
  websocket: `${PASS} proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_buffering off; proxy_read_timeout 1h;`,
  'strip-upgrade': `${PASS} proxy_http_version 1.1;
      proxy_set_header Upgrade ""; proxy_set_header Connection ""; proxy_buffering off; proxy_read_timeout 1h;`,
  // nginx's default HTTP/1.0 upstream: with 1.1 (chunked) nginx 1.22 forwards SSE at once despite buffering.
  buffering: `${PASS} proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;`,
  tls: `${PASS} proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_buffering off; proxy_read_timeout 1h;`,
}

function config(mode: NginxMode, port: number, appPorts: readonly number[]): string {
  const tls = mode === 'tls'
  return `user root;
worker_processes 1;
pid nginx.pid;
error_log error.log info;
events { worker_connections 256; }
http {
  access_log access.log;
  client_body_temp_path tmp/client_body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  upstream app { ${appPorts.map((p) => `server 127.0.0.1:${p};`).join(' ')} }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
${tls ? '  ssl_certificate cert.pem;\n  ssl_certificate_key key.pem;\n' : ''}  server {
    listen 127.0.0.1:${port}${tls ? ' ssl http2' : ''};
    location / { ${LOCATIONS[mode]} }
  }
}
`
}

/** A self-signed certificate for 127.0.0.1 and localhost, written to DIR/cert.pem and DIR/key.pem. */
export async function createCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  await promisify(execFile)(requireCommand('openssl', 'openssl'), [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ])
  return { cert, key }
}

/**
 * Starts nginx in the foreground on a free port, in front of the app on `appPort`, or of several
 * app nodes, each request to the next (round-robin: no ip_hash, no cookie, no sticky sessions).
 */
export function startNginx(mode: NginxMode, appPort: number | readonly number[]): Promise<Nginx> {
  const appPorts = typeof appPort === 'number' ? [appPort] : appPort
  return startConfiguredDaemon({
    command: 'nginx',
    debianPackage: 'nginx',
    dirPrefix: `switchboard-nginx-${mode}-`,
    async prepare(dir) {
      fs.mkdirSync(path.join(dir, 'tmp'))
      if (mode === 'tls') await createCertificate(dir)
    },
    configure(dir, port) {
      fs.writeFileSync(path.join(dir, 'nginx.conf'), config(mode, port, appPorts))
      // -e keeps nginx away from /var/log/nginx/error.log, which it opens before reading the config.
      return ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;']
    },
    errorLog: 'error.log',
  })
}
