/**
 * Every instance launcho knows of (instance.ts), by unit name. After a server restart the
 * registry is rebuilt from the running units: ports from their environment, and every active
 * instance found at start-up is taken as serving (the balancer kept it serving while we were down).
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {Backend, ServiceTable} from '../lb/balancer.js'
import {PortAllocator} from '../lb/ports.js'
import type {ServiceSpec} from '../target/load.js'
import type {DesiredState} from '../reconcile/desired.js'
import type {InstanceFacts} from './rollout.js'
import {Instance, type InstanceIdentity} from './instance.js'
import {replicaOf} from '../systemd/unit-name.js'

export class InstanceRegistry {
  private readonly instances = new Map<string, Instance>()
  /** Units being started: registered before systemd knows them, so a pass never adopts them. */
  private readonly pendingStart = new Set<string>()
  private adopted = false

  constructor(
    readonly ports: PortAllocator,
    /** Whether this unit is of its process's desired version and that process has a health check. */
    private readonly expectsCheck: (unit: string) => boolean,
  ) {}

  /**
   * Brings the registry in line with what systemd runs. On the first call (server start) running
   * units are adopted as serving; later, units launcho did not start are adopted as not serving.
   * The instances of `keep` stay as they are (units that could not be read, or that may have
   * changed since the listing was taken). No unit of a process that `acted` names is adopted: an
   * action of its own ran since the listing began, and a unit it has just stopped may still show.
   */
  sync(observed: ObservedUnit[], desired: DesiredState, now: number, keep: string[] = [], acted: (process: string) => boolean = () => false): Instance[] {
    const adoptedNow: Instance[] = []
    const live = new Set([...observed.map((unit) => unit.name), ...keep])
    for (const unit of observed) {
      if (this.instances.has(unit.name) || acted(unit.process)) continue
      const services = desired.get(unit.process)?.spec.receives ?? []
      const ports = PortAllocator.portsFromEnvironment(unit.environment, services)
      this.ports.adopt(unit.name, Object.values(ports))
      const serving = !this.adopted && unit.activeState === 'active'
      const instance = new Instance(identityOf(unit.name, unit.process, unit.version), ports, now, serving ? 'serving' : 'checking')
      this.instances.set(unit.name, instance)
      adoptedNow.push(instance)
    }
    for (const name of this.instances.keys()) {
      if (!live.has(name) && !this.pendingStart.has(name)) this.forget(name)
    }
    this.adopted = true
    return adoptedNow
  }

  register(unit: string, process: string, version: string, ports: Record<string, number>, now: number): Instance {
    const instance = new Instance(identityOf(unit, process, version), ports, now, 'starting')
    this.instances.set(unit, instance)
    this.pendingStart.add(unit)
    return instance
  }

  /** Its start call returned (whatever the outcome): from now on listings judge it. */
  startEnded(unit: string): void {
    this.pendingStart.delete(unit)
  }

  get(unit: string): Instance | undefined {
    return this.instances.get(unit)
  }

  all(): Instance[] {
    return [...this.instances.values()]
  }

  forget(unit: string): void {
    this.instances.get(unit)?.gone()
    this.instances.delete(unit)
    this.pendingStart.delete(unit)
    this.ports.release(unit)
  }

  facts(unit: ObservedUnit): InstanceFacts {
    const active = unit.activeState === 'active'
    const instance = this.instances.get(unit.name)
    if (instance) return instance.facts(active, this.expectsCheck(unit.name))
    return {health: !this.expectsCheck(unit.name) && active ? 'healthy' : 'starting', membership: 'out'}
  }

  /** The load balancer's desired tables: serving instances at weight 1, draining at 0. */
  tables(services: ServiceSpec[], resolveHost: (host: string) => string): ServiceTable[] {
    return services.map((service) => {
      const at = service.on.lastIndexOf(':')
      const backends: Backend[] = []
      for (const instance of this.instances.values()) {
        const port = instance.ports[service.name]
        if (port === undefined || instance.membership === 'out') continue
        backends.push({host: '127.0.0.1', port, weight: instance.membership === 'in' ? 1 : 0})
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

function identityOf(unit: string, process: string, version: string): InstanceIdentity {
  return {unit, process, version, replica: replicaOf(unit) ?? 0}
}
