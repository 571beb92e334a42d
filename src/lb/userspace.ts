/**
 * The userspace Balancer: a TCP proxy in its own process (src/lb/proxy/main.ts), driven through
 * files. sync() writes the proxy's config atomically, makes sure the proxy runs (starting or
 * adopting it), signals it, and returns once the proxy's stats file says it serves exactly that
 * config, so "traffic moved" means moved. When the live proxy already serves the same config,
 * sync() writes and signals nothing.
 */
import {join} from 'node:path'
import {LaunchoError} from '../errors.js'
import {ensurePrivateDir, readFileIfExists, writeFileAtomic} from '../store/atomic.js'
import type {Balancer, Endpoint, ServiceTable} from './balancer.js'
import {backendKey, CONFIG_FILE, configHash, defaultProxyOptions, renderProxyConfig, STATS_FILE, type ProxyOptions} from './proxy/config.js'
import type {ProxyLauncher} from './proxy/launcher.js'
import {readProxyStats, STATS_HEARTBEAT_MS, type ProxyStats} from './proxy/stats.js'

export interface UserspaceBalancerOptions {
  /** Holds config.json and stats.json, e.g. `<stateDir>/proxy`; created with mode 0700. */
  dir: string
  launcher: ProxyLauncher
  proxy?: Partial<ProxyOptions>
  /** How long sync() waits for the proxy to confirm a new config. */
  confirmTimeoutMs?: number
}

/** Stats older than this come from a proxy that is gone (or hung). */
const STALE_MS = 5 * STATS_HEARTBEAT_MS
const POLL_MS = 20

export class UserspaceBalancer implements Balancer {
  readonly kind = 'userspace' as const
  private readonly options: ProxyOptions
  /** Hash of the config the proxy confirmed serving. */
  private confirmed?: string
  private ensured = false
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly settings: UserspaceBalancerOptions) {
    this.options = {...defaultProxyOptions, ...settings.proxy}
  }

  get configPath(): string {
    return join(this.settings.dir, CONFIG_FILE)
  }

  get statsPath(): string {
    return join(this.settings.dir, STATS_FILE)
  }

  sync(tables: ServiceTable[]): Promise<void> {
    const text = renderProxyConfig(tables, this.options)
    // One at a time, in call order: the last call's tables win.
    const run = this.queue.then(() => this.apply(text))
    this.queue = run.catch(() => {})
    return run
  }

  async activeConnections(service: string, backend: Endpoint): Promise<number | undefined> {
    const stats = await readProxyStats(this.statsPath)
    // Counts are only meaningful against the config we asked for, from a live proxy.
    if (!stats || stats.config === undefined || stats.config !== this.confirmed || Date.now() - stats.at > STALE_MS) return undefined
    return stats.services[service]?.backends[backendKey(backend)]?.active ?? 0
  }

  async close(): Promise<void> {
    await this.queue
  }

  private async apply(text: string): Promise<void> {
    const hash = configHash(text)
    // Level-triggered: compare with what the proxy reports serving, not with what we last sent.
    const stats = await readProxyStats(this.statsPath)
    const live = stats !== undefined && Date.now() - stats.at < STALE_MS
    const onDisk = await readFileIfExists(this.configPath)
    if (live && stats.config === hash && onDisk === text) return void (this.confirmed = hash)
    if (!live) this.ensured = false
    await ensurePrivateDir(this.settings.dir)
    if (onDisk !== text) await writeFileAtomic(this.configPath, text, 0o600)
    if (live && stats.config === hash) return void (this.confirmed = hash)
    const since = Date.now()
    try {
      if (!this.ensured) {
        const how = await this.settings.launcher.ensure(this.configPath)
        this.ensured = true
        // A fresh proxy reads the config as it starts: nothing to signal.
        if (how === 'started') return void (this.confirmed = await this.confirm(hash, since))
      }
      await this.settings.launcher.reload()
      this.confirmed = await this.confirm(hash, since)
    } catch (error) {
      // Look at the proxy afresh next time: it may have been stopped or never come up.
      this.ensured = false
      throw error
    }
  }

  /** Waits until the proxy reports, after `since`, that it serves `hash`. */
  private async confirm(hash: string, since: number): Promise<string> {
    const timeoutMs = this.settings.confirmTimeoutMs ?? 5_000
    const deadline = Date.now() + timeoutMs
    let stats: ProxyStats | undefined
    while (Date.now() < deadline) {
      stats = await readProxyStats(this.statsPath)
      if (stats && stats.at >= since) {
        if (stats.config === hash) return hash
        if (stats.rejected?.config === hash) {
          throw new LaunchoError('internal', `the userspace proxy rejected its config: ${stats.rejected.error}`, {
            hint: `the running proxy may be older than this launcho; restart it (${this.settings.launcher.logsHint})`,
          })
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    throw new LaunchoError('unreachable', `the userspace proxy did not confirm its new config within ${timeoutMs} ms`, {
      hint: `is it running, with ${this.configPath}? ${this.settings.launcher.logsHint}`,
    })
  }
}
