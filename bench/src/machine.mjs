// What the numbers ran on: CPU, cores, memory, kernel, Node, the packages' exact versions.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The installed version of `name` as `from` sees it (npm layout: nested first, then hoisted). */
export function versionOf(name, from) {
  const candidates = [
    ...(from ? [path.join(root, 'node_modules', from, 'node_modules', name), path.join(root, 'bench/node_modules', from, 'node_modules', name)] : []),
    path.join(root, 'bench/node_modules', name),
    path.join(root, 'node_modules', name),
  ]
  for (const dir of candidates) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
    } catch {
      // next
    }
  }
  return 'unknown'
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

export function machine() {
  const cpus = os.cpus()
  let virt = ''
  try {
    const v = fs.readFileSync('/proc/version', 'utf8')
    if (/-fc-|firecracker/i.test(v) || /firecracker/i.test(fs.readFileSync('/proc/cmdline', 'utf8'))) virt = 'Firecracker microVM'
  } catch {
    // not Linux
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    virtualization: virt,
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--', 'packages']) !== '',
    date: new Date().toISOString(),
  }
}

export function versions() {
  return {
    '@switchboard/server': versionOf('@switchboard/server'),
    '@switchboard/client': versionOf('@switchboard/client'),
    hono: versionOf('hono'),
    '@hono/node-server': versionOf('@hono/node-server'),
    ws: versionOf('ws'),
    'socket.io': versionOf('socket.io'),
    'engine.io': versionOf('engine.io', 'socket.io'),
    'ws (engine.io)': versionOf('ws', 'engine.io'),
    'socket.io-client': versionOf('socket.io-client'),
    'engine.io-client': versionOf('engine.io-client', 'socket.io-client'),
    sockjs: versionOf('sockjs'),
    'sockjs-client': versionOf('sockjs-client'),
    'faye-websocket': versionOf('faye-websocket', 'sockjs'),
  }
}

/** The soft limit on open files, as a child process inherits it. */
export function openFileLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity
  } catch {
    return Infinity
  }
}
