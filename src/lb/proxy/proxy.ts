/**
 * The proxy's state: one listener per configured service. Applying a config changes only what
 * differs; a listener whose service was removed (or moved to another address) stops accepting and
 * is kept, draining, until its last connection closes.
 */
import type {Logger} from 'pino'
import {backendKey, type ProxyConfig, type ProxyOptions} from './config.js'
import {ServiceListener, type ServiceStats} from './listener.js'

export class Proxy {
  private readonly listeners = new Map<string, ServiceListener>()
  private draining: ServiceListener[] = []

  constructor(private readonly log: Logger) {}

  apply(config: ProxyConfig): void {
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
    for (const service of services) {
      const existing = this.listeners.get(service.name)
      if (existing) {
        existing.update(service, options satisfies ProxyOptions)
        continue
      }
      const listener = new ServiceListener(service.name, service, options, this.log)
      this.listeners.set(service.name, listener)
      listener.start()
    }
    this.prune()
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
      for (const [key, counts] of Object.entries(stats.backends)) {
        const sum = (known.backends[key] ??= {active: 0, total: 0, failed: 0})
        sum.active += counts.active
        sum.total += counts.total
        sum.failed += counts.failed
      }
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
