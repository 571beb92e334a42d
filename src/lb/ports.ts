/**
 * SERVICE_PORT_<NAME> allocation: every instance gets one port per service it receives, from a
 * configurable range, never handed out twice while an instance holds it, freed when the instance
 * goes, and re-derived after a server restart from the units' environment.
 */
import {createServer} from 'node:net'
import {LaunchoError} from '../errors.js'

export interface PortRange {
  first: number
  last: number
}

/** `web-api` → `SERVICE_PORT_WEB_API` */
export function portVariable(service: string): string {
  return `SERVICE_PORT_${service.toUpperCase().replace(/-/g, '_')}`
}

export class PortAllocator {
  /** port → unit holding it */
  private readonly held = new Map<number, string>()
  private next: number

  constructor(
    private readonly range: PortRange,
    private readonly isFree: (port: number) => Promise<boolean> = portIsFree,
  ) {
    this.next = range.first
  }

  /** Ports of each service for a unit, from its environment (`SERVICE_PORT_X=1234`). */
  static portsFromEnvironment(environment: string[], services: string[]): Record<string, number> {
    const ports: Record<string, number> = {}
    for (const service of services) {
      const entry = environment.find((line) => line.startsWith(`${portVariable(service)}=`))
      const port = entry ? Number(entry.slice(entry.indexOf('=') + 1)) : Number.NaN
      if (Number.isInteger(port) && port > 0) ports[service] = port
    }
    return ports
  }

  /** Records ports a running unit already holds (adoption after a restart). */
  adopt(unit: string, ports: Iterable<number>): void {
    for (const port of ports) this.held.set(port, unit)
  }

  /** Allocates one fresh port per service for a unit. */
  async allocate(unit: string, services: string[]): Promise<Record<string, number>> {
    const ports: Record<string, number> = {}
    for (const service of services) ports[service] = await this.one(unit)
    return ports
  }

  release(unit: string): void {
    for (const [port, holder] of this.held) if (holder === unit) this.held.delete(port)
  }

  /** Releases every port whose unit is not in `live` (units that vanished while we looked away). */
  releaseAllBut(live: Set<string>): void {
    for (const [port, holder] of this.held) if (!live.has(holder)) this.held.delete(port)
  }

  heldBy(unit: string): number[] {
    return [...this.held].filter(([, holder]) => holder === unit).map(([port]) => port)
  }

  private async one(unit: string): Promise<number> {
    const size = this.range.last - this.range.first + 1
    for (let tried = 0; tried < size; tried++) {
      const port = this.next
      this.next = port >= this.range.last ? this.range.first : port + 1
      if (this.held.has(port)) continue
      // Reserve before the async probe so concurrent allocations never pick the same port.
      this.held.set(port, unit)
      if (await this.isFree(port)) return port
      this.held.delete(port)
    }
    throw new LaunchoError('conflict', `no free port left in ${this.range.first}-${this.range.last}`, {
      hint: 'widen portRange in the server config, or stop processes that hold ports',
    })
  }
}

/** Whether nothing listens on the port on this host (loopback and any-address alike). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    // Resolve on listening: close() would wait for any connection someone made meanwhile.
    probe.listen({port, host: '0.0.0.0', exclusive: true}, () => {
      probe.close()
      resolve(true)
    })
  })
}
