/**
 * The proxy's worker threads, as the main thread sees them. apply() hands a config to every worker
 * and resolves once each of them serves it, so "the proxy serves config X" holds for all of them;
 * stats() adds up the counts the workers report, so a backend's active connections are those of
 * the whole proxy. A worker that dies is replaced (with back-off), and the replacement gets the
 * current config before it accepts anything. Fewer workers than before: the extra ones stop
 * accepting and go once their connections have finished, counted until then.
 */
import type {Logger} from 'pino'
import {defaultWorkers, type ProxyConfig} from './config.js'
import {newSequence} from './picker.js'
import {addBackendCounts, copyServiceStats, type ServiceStats, type WorkerSummary} from './service-stats.js'
import {ProxyWorker} from './worker-handle.js'

const RESPAWN_FIRST_MS = 100
const RESPAWN_MAX_MS = 5_000
/** A worker that ran this long before dying starts the back-off afresh. */
const RESPAWN_RESET_AFTER_MS = 10_000

/** A place for one worker: it keeps its index across replacements. */
interface Slot {
  index: number
  worker?: ProxyWorker
  respawn?: NodeJS.Timeout
  failures: number
}

export class WorkerPool {
  private slots: Slot[] = []
  private readonly retiring = new Set<ProxyWorker>()
  private readonly sequences = new Map<string, SharedArrayBuffer>()
  private config?: ProxyConfig
  private closing = false

  constructor(
    private readonly log: Logger,
    private readonly logLevel: string,
  ) {}

  /** Resolves when every worker serves `config` (workers: 0 means defaultWorkers()). */
  async apply(config: ProxyConfig): Promise<void> {
    this.config = config
    const wanted = config.workers || defaultWorkers()
    while (this.slots.length < wanted) {
      const slot: Slot = {index: this.slots.length, failures: 0}
      this.slots.push(slot)
      this.spawn(slot)
    }
    const retired: Array<Promise<void>> = []
    while (this.slots.length > wanted) retired.push(this.retire(this.slots.pop()!))
    const sequences = this.sequencesFor(config)
    // Done when the serving workers serve it and the retired ones accept nothing more.
    await Promise.all([...retired, ...this.slots.map((slot) => slot.worker?.apply(config, sequences))])
  }

  /** Per service, per backend counts over all workers (and the ones still draining). */
  stats(): Record<string, ServiceStats> {
    const result: Record<string, ServiceStats> = {}
    for (const worker of this.serving()) {
      for (const [name, stats] of Object.entries(worker.report.services)) {
        const known = result[name]
        if (!known) {
          result[name] = copyServiceStats(stats)
          continue
        }
        addBackendCounts(known, stats)
        known.listening &&= stats.listening
        if (stats.error) known.error ??= stats.error
      }
    }
    // Retired workers no longer listen: only their connections count.
    for (const worker of this.retiring) {
      for (const [name, stats] of Object.entries(worker.report.services)) {
        const known = result[name]
        if (known) addBackendCounts(known, stats)
        else result[name] = {...copyServiceStats(stats), listening: false}
      }
    }
    return result
  }

  /** Each serving worker's connections, in index order. */
  workers(): WorkerSummary[] {
    return this.slots.map((slot) => {
      const services = Object.values(slot.worker?.report.services ?? {})
      const total = services.reduce((sum, s) => sum + Object.values(s.backends).reduce((n, b) => n + b.total, 0), 0)
      return {active: slot.worker?.report.active ?? 0, total}
    })
  }

  active(): number {
    return [...this.serving(), ...this.retiring].reduce((sum, worker) => sum + worker.report.active, 0)
  }

  /** Stops accepting everywhere; resolves when every worker has drained (or `graceMs` passed) and exited. */
  async close(graceMs: number): Promise<void> {
    this.closing = true
    const workers = [...this.serving(), ...this.retiring]
    for (const slot of this.slots) clearTimeout(slot.respawn)
    await Promise.all(workers.map((worker) => worker.close(graceMs)))
  }

  private serving(): ProxyWorker[] {
    return this.slots.flatMap((slot) => (slot.worker ? [slot.worker] : []))
  }

  private spawn(slot: Slot): void {
    const worker = new ProxyWorker({index: slot.index, logLevel: this.logLevel}, this.log)
    slot.worker = worker
    void worker.exited.then((code) => this.onExit(slot, worker, code))
  }

  private onExit(slot: Slot, worker: ProxyWorker, code: number): void {
    if (this.retiring.delete(worker) || this.closing || slot.worker !== worker) return
    slot.worker = undefined
    if (Date.now() - worker.startedAt >= RESPAWN_RESET_AFTER_MS) slot.failures = 0
    const delay = Math.min(RESPAWN_FIRST_MS * 2 ** slot.failures, RESPAWN_MAX_MS)
    slot.failures++
    this.log.error({worker: slot.index, code, retryInMs: delay}, 'worker thread exited; starting a new one')
    slot.respawn = setTimeout(() => {
      if (this.closing || !this.slots.includes(slot)) return
      this.spawn(slot)
      if (!this.config) return
      slot.worker!.apply(this.config, this.sequencesFor(this.config)).catch((error: Error) => {
        this.log.error({worker: slot.index, err: error.message}, 'the new worker could not apply the config')
      })
    }, delay)
  }

  /**
   * Resolves once it stopped accepting. With SO_REUSEPORT, connections still queued at its
   * listener then are reset, unless net.ipv4.tcp_migrate_req=1 hands them to another worker.
   */
  private retire(slot: Slot): Promise<void> {
    clearTimeout(slot.respawn)
    const worker = slot.worker
    if (!worker) return Promise.resolve()
    this.retiring.add(worker)
    this.log.info({worker: slot.index, active: worker.report.active}, 'fewer workers configured: this one stops accepting and goes once its connections end')
    void worker.close(Infinity)
    return worker.stopped
  }

  /** One counter per service name, kept while the name is configured. */
  private sequencesFor(config: ProxyConfig): Record<string, SharedArrayBuffer> {
    const names = new Set(config.services.map((service) => service.name))
    for (const name of this.sequences.keys()) if (!names.has(name)) this.sequences.delete(name)
    for (const name of names) if (!this.sequences.has(name)) this.sequences.set(name, newSequence())
    return Object.fromEntries(this.sequences)
  }
}
