import type { TransportName } from '@switchboard/protocol'

/** Transports that can be probed in the background (a ping/pong before the switch), best first. */
const PROBEABLE: readonly TransportName[] = ['websocket', 'sse']

export interface UpgradeOptions {
  delayMs: number
  maxDelayMs: number
}

const DEFAULT_UPGRADE: UpgradeOptions = Object.freeze({ delayMs: 1_000, maxDelayMs: 60_000 })

/** The client's `upgrade` option with its defaults filled in (one object for every client that sets none). */
export function upgradeOptions(option: Partial<UpgradeOptions> | false | undefined): UpgradeOptions | false {
  if (option === undefined) return DEFAULT_UPGRADE
  if (option === false) return false
  return { delayMs: option.delayMs ?? DEFAULT_UPGRADE.delayMs, maxDelayMs: option.maxDelayMs ?? DEFAULT_UPGRADE.maxDelayMs }
}

/**
 * The transports worth probing while the session is on `current`: those the client prefers to
 * it, that the server offers and that can be probed, best first (WebSocket only where the
 * runtime has one).
 */
export function upgradeCandidates(
  current: TransportName,
  preferred: readonly TransportName[],
  offered: readonly TransportName[],
  hasWebSocket: boolean,
): TransportName[] {
  const order = preferred.filter((t) => offered.includes(t))
  const better = order.slice(0, Math.max(0, order.indexOf(current)))
  return better.filter((t) => PROBEABLE.includes(t) && (t !== 'websocket' || hasWebSocket))
}

/** Delay before the next probe: `delayMs`, doubling with each failed round, up to `maxDelayMs`. */
export function nextUpgradeDelay(options: UpgradeOptions, failures: number): number {
  return Math.min(options.maxDelayMs, options.delayMs * 2 ** failures)
}

/** One probe round's step, as the connection sees it. */
export interface UpgradeHost {
  /** The line and the session it carries, and the run they belong to; null unless open on a line. */
  current(): { line: { readonly name: TransportName }; offered: readonly TransportName[]; gen: number } | null
  /** Probes `target` for the run `gen` (a ping/pong over it, then the switch). */
  probe(target: TransportName, gen: number): Promise<{ ok: boolean; reason?: string }>
  /** True while run `gen` still holds the very line the round began on. */
  unchanged(gen: number, line: object): boolean
  /** The round probes `target` (state `upgrading`), or a probe failed and the old line goes on (`open`). */
  probing(target: TransportName): void
  /** A probe failed: true when the old line was already paused, and the connection reattached from scratch. */
  failed(reason: string): boolean
}

/**
 * While the session is on a worse transport, probes the better ones in the background, best
 * first, round after round (the delay doubling after each failed round), until one takes over.
 */
export class Upgrader {
  #options: UpgradeOptions | false
  #preferred: readonly TransportName[]
  #hasWebSocket: boolean
  #host: UpgradeHost
  #timer: ReturnType<typeof setTimeout> | undefined
  #failures = 0

  constructor(options: UpgradeOptions | false, preferred: readonly TransportName[], hasWebSocket: boolean, host: UpgradeHost) {
    this.#options = options
    this.#preferred = preferred
    this.#hasWebSocket = hasWebSocket
    this.#host = host
  }

  /** Arms the next round, if a better transport is there to probe. */
  schedule(): void {
    this.stop()
    const now = this.#host.current()
    if (!this.#options || !now || this.#candidates(now.line.name, now.offered).length === 0) return
    this.#timer = setTimeout(() => void this.#round(), nextUpgradeDelay(this.#options, this.#failures))
  }

  /** An upgrade took over: the next round starts from the first delay. */
  succeeded(): void {
    this.#failures = 0
  }

  stop(): void {
    clearTimeout(this.#timer)
  }

  #candidates(line: TransportName, offered: readonly TransportName[]): TransportName[] {
    return upgradeCandidates(line, this.#preferred, offered, this.#hasWebSocket)
  }

  async #round(): Promise<void> {
    const start = this.#host.current()
    if (!start) return
    for (const target of this.#candidates(start.line.name, start.offered)) {
      this.#host.probing(target)
      const result = await this.#host.probe(target, start.gen)
      if (result.ok || !this.#host.unchanged(start.gen, start.line)) return
      if (this.#host.failed(`upgrade to ${target} failed: ${result.reason}`)) return
    }
    this.#failures++
    this.schedule()
  }
}
