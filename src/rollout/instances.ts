/**
 * What launcho knows of each instance beyond systemd's view: its ports, its load-balancer
 * membership and drain start. Health comes from the health monitor. After a server restart the
 * registry is rebuilt from the running units: ports from their environment, and every active
 * instance found at start-up is taken as serving (the balancer kept it serving while we were down).
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {Backend, ServiceTable} from '../lb/balancer.js'
import {PortAllocator} from '../lb/ports.js'
import type {ServiceSpec} from '../target/load.js'
import type {DesiredState} from '../reconcile/desired.js'
import type {Health, InstanceFacts, Membership} from './rollout.js'

export interface HealthFacts {
  state: Health
  lastOkAt?: number
}

export interface InstanceRecord {
  unit: string
  process: string
  ports: Record<string, number>
  membership: Membership
  drainSince?: number
  activeConnections?: number
  /** Set when launcho started (or adopted) the instance. */
  since: number
}

export class InstanceRegistry {
  private readonly records = new Map<string, InstanceRecord>()
  /** Units being started: registered before systemd knows them, so a pass never adopts them. */
  private readonly pendingStart = new Set<string>()
  private adopted = false

  constructor(
    readonly ports: PortAllocator,
    private readonly health: (unit: string, active: boolean) => HealthFacts,
  ) {}

  /**
   * Brings the registry in line with what systemd runs. On the first call (server start) running
   * units are adopted as serving; later, units launcho did not start are adopted as not serving.
   * The records of `keep` stay as they are (units that could not be read, or that may have
   * changed since the listing was taken).
   */
  sync(observed: ObservedUnit[], desired: DesiredState, now: number, keep: string[] = []): InstanceRecord[] {
    const adoptedNow: InstanceRecord[] = []
    const live = new Set([...observed.map((unit) => unit.name), ...keep])
    for (const unit of observed) {
      if (this.records.has(unit.name)) continue
      const services = desired.get(unit.process)?.spec.receives ?? []
      const ports = PortAllocator.portsFromEnvironment(unit.environment, services)
      this.ports.adopt(unit.name, Object.values(ports))
      const record: InstanceRecord = {
        unit: unit.name,
        process: unit.process,
        ports,
        membership: !this.adopted && unit.activeState === 'active' ? 'in' : 'out',
        since: now,
      }
      this.records.set(unit.name, record)
      adoptedNow.push(record)
    }
    for (const name of this.records.keys()) {
      if (!live.has(name) && !this.pendingStart.has(name)) this.forget(name)
    }
    this.adopted = true
    return adoptedNow
  }

  register(unit: string, process: string, ports: Record<string, number>, now: number): void {
    this.records.set(unit, {unit, process, ports, membership: 'out', since: now})
    this.pendingStart.add(unit)
  }

  started(unit: string): void {
    this.pendingStart.delete(unit)
  }

  get(unit: string): InstanceRecord | undefined {
    return this.records.get(unit)
  }

  all(): InstanceRecord[] {
    return [...this.records.values()]
  }

  setMembership(unit: string, membership: Membership, now: number): void {
    const record = this.records.get(unit)
    if (!record) return
    record.membership = membership
    record.drainSince = membership === 'draining' ? now : undefined
    record.activeConnections = undefined
  }

  forget(unit: string): void {
    this.records.delete(unit)
    this.pendingStart.delete(unit)
    this.ports.release(unit)
  }

  facts(unit: ObservedUnit): InstanceFacts {
    const record = this.records.get(unit.name)
    const health = this.health(unit.name, unit.activeState === 'active')
    return {
      health: health.state,
      ...(health.lastOkAt !== undefined ? {lastOkAt: health.lastOkAt} : {}),
      membership: record?.membership ?? 'out',
      ...(record?.drainSince !== undefined ? {drainSince: record.drainSince} : {}),
      ...(record?.activeConnections !== undefined ? {activeConnections: record.activeConnections} : {}),
    }
  }

  /** The load balancer's desired tables: serving instances at weight 1, draining at 0. */
  tables(services: ServiceSpec[], resolveHost: (host: string) => string): ServiceTable[] {
    return services.map((service) => {
      const at = service.on.lastIndexOf(':')
      const backends: Backend[] = []
      for (const record of this.records.values()) {
        const port = record.ports[service.name]
        if (port === undefined || record.membership === 'out') continue
        backends.push({host: '127.0.0.1', port, weight: record.membership === 'in' ? 1 : 0})
      }
      backends.sort((a, b) => a.port - b.port)
      return {
        name: service.name,
        on: {host: resolveHost(service.on.slice(0, at).replace(/^\[|\]$/g, '')), port: Number(service.on.slice(at + 1))},
        backends,
      }
    })
  }
}
