import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, readOr, requireCommand, startDaemon, waitForPort, type Daemon } from './child-process.js'

/** A server program run from a generated config in its own temp directory, listening on 127.0.0.1. */
export interface ConfiguredDaemon {
  readonly port: number
  readonly pid: number
  /** The temp directory holding its config and logs. */
  readonly dir: string
  /** DIR/access.log so far. */
  accessLog(): string
  /** Stops it by PID, then removes the directory. */
  stop(): Promise<void>
}

export interface DaemonLaunch {
  command: string
  /** Named in the error when `command` is missing. */
  debianPackage: string
  /** Start of the temp directory's name. */
  dirPrefix: string
  /** Readies `dir` before a port is picked, so slow work (a certificate) does not widen the race for it. */
  prepare?(dir: string): Promise<void> | void
  /** Writes the config for `port` into `dir` and returns the command's arguments. */
  configure(dir: string, port: number): readonly string[]
  /** The log in `dir` added to the error when the program does not start listening. */
  errorLog: string
}

/**
 * Runs `command` in the foreground on a free loopback port and resolves once it accepts
 * connections; on failure, stops it and removes its directory.
 */
export async function startConfiguredDaemon(launch: DaemonLaunch): Promise<ConfiguredDaemon> {
  const file = requireCommand(launch.command, launch.debianPackage)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), launch.dirPrefix))
  let daemon: Daemon | undefined
  try {
    await launch.prepare?.(dir)
    const port = await freePort()
    daemon = await startDaemon(file, launch.configure(dir, port))
    await waitForPort(port, { child: daemon.child }).catch((e: Error) => {
      throw new Error(`${e.message}\n${daemon?.output()}${readOr(path.join(dir, launch.errorLog))}`)
    })
    const running = daemon
    return {
      port,
      pid: running.pid,
      dir,
      accessLog: () => readOr(path.join(dir, 'access.log')),
      async stop() {
        await running.stop()
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await daemon?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
