/**
 * One service's listener: accepts on the service address, picks backends by weight and relays.
 * Backends can be replaced at any time; connections already relaying keep their backend. Closing
 * stops accepting while established connections run to their end.
 *
 * Every worker thread of the proxy has its own listener per service, bound with SO_REUSEPORT: the
 * kernel spreads new connections over them, and the workers share the rotation (`sequence`).
 */
import {createServer, type Server} from 'node:net'
import type {Logger} from 'pino'
import type {Endpoint} from '../balancer.js'
import {backendKey, type ProxyOptions, type ProxyService} from './config.js'
import {newSequence, WeightedPicker} from './picker.js'
import {relay, type RelayTracker} from './relay.js'
import type {BackendStats, ServiceStats} from './service-stats.js'

const LISTEN_RETRY_MS = 1_000

export class ServiceListener {
  readonly on: Endpoint
  private readonly server: Server
  private picker: WeightedPicker
  private configured: Set<string>
  private readonly counts = new Map<string, BackendStats>()
  private listening = false
  private error?: string
  private closed = false
  private retry?: NodeJS.Timeout
  /** Settles once the first attempt to listen is over (bound or failed) or it was closed. */
  readonly tried: Promise<void>
  private settleTried!: () => void

  constructor(
    readonly name: string,
    service: ProxyService,
    private options: ProxyOptions,
    private readonly log: Logger,
    private readonly sequence: SharedArrayBuffer = newSequence(),
  ) {
    this.on = {host: service.on.host, port: service.on.port}
    this.tried = new Promise((resolve) => (this.settleTried = resolve))
    this.picker = new WeightedPicker(service.backends, sequence)
    this.configured = new Set(service.backends.map(backendKey))
    this.server = createServer({allowHalfOpen: true, pauseOnConnect: true, noDelay: true}, (client) => {
      relay(client, this.picker.candidates(this.options.connectAttempts), this.options, this.tracker)
    })
    this.server.on('error', (error) => this.onServerError(error))
  }

  start(): void {
    if (this.closed) return
    this.server.listen({host: this.on.host, port: this.on.port, reusePort: true}, () => {
      this.settleTried()
      if (this.closed) return void this.server.close()
      this.listening = true
      this.error = undefined
      this.log.info({service: this.name, on: backendKey(this.on)}, 'listening')
    })
  }

  /** New backends and options for connections accepted from now on. */
  update(service: ProxyService, options: ProxyOptions): void {
    this.options = options
    this.picker = new WeightedPicker(service.backends, this.sequence)
    this.configured = new Set(service.backends.map(backendKey))
    for (const [key, stats] of this.counts) if (stats.active === 0 && !this.configured.has(key)) this.counts.delete(key)
  }

  /** Stops accepting; established connections continue. */
  close(): void {
    this.closed = true
    this.settleTried()
    clearTimeout(this.retry)
    if (this.server.listening) this.server.close()
    this.listening = false
  }

  /** Connections currently relaying through this listener. */
  get active(): number {
    let sum = 0
    for (const stats of this.counts.values()) sum += stats.active
    return sum
  }

  stats(): ServiceStats {
    const backends: Record<string, BackendStats> = {}
    for (const key of this.configured) backends[key] = {active: 0, total: 0, failed: 0}
    for (const [key, stats] of this.counts) backends[key] = {...stats}
    return {on: backendKey(this.on), listening: this.listening, ...(this.error ? {error: this.error} : {}), backends}
  }

  private readonly tracker: RelayTracker = {
    opened: (key) => {
      const stats = this.count(key)
      stats.active++
      stats.total++
    },
    closed: (key) => {
      const stats = this.count(key)
      stats.active--
      if (stats.active === 0 && !this.configured.has(key)) this.counts.delete(key)
    },
    failed: (key, error) => {
      this.count(key).failed++
      this.log.debug({service: this.name, backend: key, err: error.message}, 'backend connect failed, trying the next')
    },
  }

  private count(key: string): BackendStats {
    let stats = this.counts.get(key)
    if (!stats) this.counts.set(key, (stats = {active: 0, total: 0, failed: 0}))
    return stats
  }

  private onServerError(error: NodeJS.ErrnoException): void {
    if (this.listening) {
      // e.g. EMFILE on accept: the server keeps listening.
      this.log.warn({service: this.name, err: error.message}, 'accept failed')
      return
    }
    // Bind failed (address in use, not local, no permission): keep retrying; another service may free it.
    const message = `${error.code ?? 'error'}: ${error.message}`
    if (message !== this.error) {
      this.log.error({service: this.name, on: backendKey(this.on), err: error.message}, `cannot listen; retrying every ${LISTEN_RETRY_MS} ms`)
    }
    this.error = message
    this.settleTried()
    if (!this.closed) this.retry = setTimeout(() => this.start(), LISTEN_RETRY_MS)
  }
}
