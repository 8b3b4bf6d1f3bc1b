import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { startConfiguredDaemon } from './daemon.js'

/** A squid forward proxy, as a corporate network would give browsers. */
export interface Squid {
  readonly port: number
  readonly pid: number
  /** `http://127.0.0.1:PORT`, for a browser's proxy setting. */
  readonly url: string
  /** The access log so far (a line is written when its transaction ends). */
  accessLog(): string
  /** SIGTERM by PID (about 1-3 s with `shutdown_lifetime 1 second`), then removes the directory. */
  stop(): Promise<void>
}

// Debian's defaults in short: CONNECT only to 443 (so Chromium's and Firefox's `ws://` tunnel to
// the app's port is refused), and only loopback targets, which also refuses the browsers' own
// background requests without a DNS lookup.
function config(dir: string, port: number): string {
  return `http_port 127.0.0.1:${port}
pid_filename ${dir}/squid.pid
cache_log ${dir}/cache.log
access_log stdio:${dir}/access.log
coredump_dir ${dir}
cache deny all
pinger_enable off
shutdown_lifetime 1 second
acl SSL_ports port 443
acl Safe_ports port 80 443 1025-65535
acl loopback_dst dstdomain 127.0.0.1 localhost
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access deny !loopback_dst
http_access allow localhost
http_access deny all
`
}

/** Starts squid in the foreground (`-N`) on a free port. Run as root, it switches to user `proxy`. */
export async function startSquid(): Promise<Squid> {
  // Its own shared-memory name (/dev/shm/NAME-*), so parallel or leftover squids do not collide.
  const name = `sbtest${randomBytes(4).toString('hex')}` // letters and digits only
  const { port, pid, accessLog, stop } = await startConfiguredDaemon({
    command: 'squid',
    debianPackage: 'squid',
    dirPrefix: 'switchboard-squid-',
    configure(dir, port) {
      fs.writeFileSync(path.join(dir, 'squid.conf'), config(dir, port))
      if (process.getuid?.() === 0) fs.chownSync(dir, ...proxyUser())
      return ['-N', '-n', name, '-f', path.join(dir, 'squid.conf')]
    },
    errorLog: 'cache.log',
  })
  return { port, pid, url: `http://127.0.0.1:${port}`, accessLog, stop }
}

/** uid and gid of Debian's `proxy` user, which squid switches to. */
function proxyUser(): [number, number] {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('proxy:'))
  const [, , uid, gid] = line?.split(':') ?? []
  if (uid === undefined || gid === undefined) throw new Error('no `proxy` user in /etc/passwd (it comes with Debian)')
  return [Number(uid), Number(gid)]
}
