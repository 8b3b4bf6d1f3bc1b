// redis-server and nginx for the three-node chat, each on a free loopback port with its files in
// the launcher's temp directory, in the foreground (so the launcher holds their PIDs).
import fs from 'node:fs'
import path from 'node:path'
import { accepts, freePort, requireCommand, startChild, waitUntil, type Child } from './processes.js'

/** redis-server without persistence: the chat's rooms last as long as the cluster. */
export async function startRedis(dir: string): Promise<Child> {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning']
  // Its start-up banner and warnings are kept, and shown if it dies.
  const redis = await startChild('redis-server', `redis://127.0.0.1:${port}`, requireCommand('redis-server', 'redis-server'), args, { quiet: true })
  await waitUntil(redis, () => accepts(port))
  return redis
}

// Every temp file of nginx's inside the launcher's directory, none in /var/lib/nginx.
const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']

/**
 * The balancer: round robin over the nodes (no ip_hash, no cookie), HTTP/1.1 to them with the
 * WebSocket upgrade passed through, nothing buffered (SSE and long polls flow as written), and
 * the Host the browser sent, so the app's same-origin check holds behind it.
 */
export function nginxConfig(port: number, nodePorts: readonly number[], runAsRoot: boolean): string {
  return `${runAsRoot ? 'user root;\n' : ''}worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
  access_log access.log;
${TEMP_PATHS.map((kind) => `  ${kind}_temp_path tmp/${kind};`).join('\n')}
  upstream chat {
${nodePorts.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`
}

/** nginx in the foreground with its config, logs and temp files in `dir`. */
export async function startNginx(dir: string, nodePorts: readonly number[]): Promise<Child> {
  const port = await freePort()
  // Workers as root when the launcher is root: the temp directories inside a 0700 dir stay writable.
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(port, nodePorts, process.getuid?.() === 0))
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true })
  // -e keeps nginx away from /var/log/nginx/error.log, which it opens before reading the config.
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;']
  const nginx = await startChild('nginx', `http://127.0.0.1:${port}`, requireCommand('nginx', 'nginx'), args)
  await waitUntil(nginx, () => accepts(port))
  return nginx
}
