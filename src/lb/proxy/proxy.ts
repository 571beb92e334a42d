/**
 * One worker thread's state: one listener per configured service. Applying a config changes only
 * what differs; a listener whose service was removed (or moved to another address) stops accepting
 * and is kept, draining, until its last connection closes.
 */
import type {Logger} from 'pino'
import {backendKey, type ProxyConfig, type ProxyOptions} from './config.js'
import {ServiceListener} from './listener.js'
import {addBackendCounts, type ServiceStats} from './service-stats.js'

export class Proxy {
  private readonly listeners = new Map<string, ServiceListener>()
  private draining: ServiceListener[] = []

  constructor(private readonly log: Logger) {}

  /**
   * Resolves once every new listener has tried to listen, so a client connecting after that finds
   * it (unless the address was taken: then it retries, and its stats say why).
   * `sequences`: each service's shared rotation counter (see WeightedPicker).
   */
  async apply(config: ProxyConfig, sequences: Record<string, SharedArrayBuffer> = {}): Promise<void> {
    const {version: _version, services, ...options} = config
    const wanted = new Map(services.map((service) => [service.name, service]))
    // Release addresses first, so a service can take over a port another one just left.
    for (const [name, listener] of this.listeners) {
      const service = wanted.get(name)
      if (service && backendKey(service.on) === backendKey(listener.on)) continue
      listener.close()
      this.listeners.delete(name)
      this.draining.push(listener)
      this.log.info({service: name, on: backendKey(listener.on), active: listener.active}, 'stopped listening; existing connections continue')
    }
    const started: Array<Promise<void>> = []
    for (const service of services) {
      const existing = this.listeners.get(service.name)
      if (existing) {
        existing.update(service, options satisfies ProxyOptions)
        continue
      }
      const listener = new ServiceListener(service.name, service, options, this.log, sequences[service.name])
      this.listeners.set(service.name, listener)
      listener.start()
      started.push(listener.tried)
    }
    this.prune()
    await Promise.all(started)
  }

  /** Per service (including ones still draining), per backend counts. */
  stats(): Record<string, ServiceStats> {
    this.prune()
    const result: Record<string, ServiceStats> = {}
    for (const listener of [...this.listeners.values(), ...this.draining]) {
      const stats = listener.stats()
      const known = result[listener.name]
      if (!known) {
        result[listener.name] = stats
        continue
      }
      // A service removed and re-added while its old listener drains: add the counts up.
      addBackendCounts(known, stats)
    }
    return result
  }

  /** Stops accepting everywhere; resolves when no connection is left or after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    for (const listener of this.listeners.values()) {
      listener.close()
      this.draining.push(listener)
    }
    this.listeners.clear()
    const deadline = Date.now() + graceMs
    while (this.active() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  }

  active(): number {
    return [...this.listeners.values(), ...this.draining].reduce((sum, listener) => sum + listener.active, 0)
  }

  private prune(): void {
    this.draining = this.draining.filter((listener) => listener.active > 0)
  }
}
