/**
 * The ipvsadm sync loop's brain: kernel table + wanted table + the VIPs launcho owns → the smallest
 * list of ipvsadm operations, and the exact argv of each. Pure, so unit tests pin the commands.
 */
import type {ServiceTable} from './balancer.js'
import type {IpvsService} from './ipvs-table.js'
import {endpointKey} from './table-check.js'

export type IpvsOperation =
  | {op: 'add-service'; service: string; scheduler: string}
  | {op: 'edit-service'; service: string; scheduler: string}
  | {op: 'delete-service'; service: string}
  | {op: 'add-real'; service: string; real: string; weight: number}
  | {op: 'edit-real'; service: string; real: string; weight: number}
  | {op: 'delete-real'; service: string; real: string}

export const SCHEDULER = 'wrr'

/** What launcho wants: one wrr TCP service per table, masquerading to each backend. */
export function desiredIpvs(tables: ServiceTable[]): IpvsService[] {
  return tables.map((table) => ({
    protocol: 'tcp',
    address: endpointKey(table.on),
    scheduler: SCHEDULER,
    options: [],
    reals: table.backends.map((backend) => ({address: endpointKey(backend), forward: 'masq', weight: backend.weight})),
  }))
}

/**
 * Operations that turn `current` into `desired`, touching only desired services and owned ones.
 * Additions come first and removals last, so a service never passes through an empty state
 * while one backend replaces another.
 *
 * Draining: a wanted real at weight 0 is set to weight 0 (no new connections); once the kernel
 * reports it has no active connection it is deleted; a wanted weight-0 real that is absent is not
 * added back. A real the table no longer has goes the same way: IPVS drops every packet of a
 * connection whose real server is deleted (net.ipv4.vs.expire_nodest_conn=0), so a request in
 * flight to it would hang; at weight 0 it finishes, and a connection to a process that is gone
 * gets the kernel's reset at once. Needs `active` on current reals (see withConnections) to
 * delete; without it, waits.
 */
export function planIpvs(current: IpvsService[], desired: IpvsService[], owned: ReadonlySet<string>): IpvsOperation[] {
  const adds: IpvsOperation[] = []
  const edits: IpvsOperation[] = []
  const deletes: IpvsOperation[] = []
  const tcp = new Map(current.filter((s) => s.protocol === 'tcp').map((s) => [s.address, s]))
  const wanted = new Set(desired.map((s) => s.address))
  for (const want of desired) {
    const service = want.address
    const have = tcp.get(service)
    if (!have) adds.push({op: 'add-service', service, scheduler: want.scheduler})
    else if (have.scheduler !== want.scheduler || have.options.length > 0) edits.push({op: 'edit-service', service, scheduler: want.scheduler})
    const haveReals = new Map((have?.reals ?? []).map((r) => [r.address, r]))
    for (const real of want.reals) {
      const got = haveReals.get(real.address)
      if (!got) {
        if (real.weight > 0) adds.push({op: 'add-real', service, real: real.address, weight: real.weight})
      } else if (got.weight !== real.weight || got.forward !== real.forward) {
        edits.push({op: 'edit-real', service, real: real.address, weight: real.weight})
      } else if (real.weight === 0 && got.active === 0) {
        deletes.push({op: 'delete-real', service, real: real.address})
      }
    }
    const wantReals = new Set(want.reals.map((r) => r.address))
    for (const real of have?.reals ?? []) {
      if (wantReals.has(real.address)) continue
      if (real.weight > 0) edits.push({op: 'edit-real', service, real: real.address, weight: 0})
      else if (real.active === 0) deletes.push({op: 'delete-real', service, real: real.address})
    }
  }
  for (const [service] of tcp) {
    if (!wanted.has(service) && owned.has(service)) deletes.push({op: 'delete-service', service})
  }
  return [...adds, ...edits, ...deletes]
}

/** Reals of wanted services that the table no longer has and that `operations` (their plan) does not delete: still draining. */
export function leavingReals(current: IpvsService[], desired: IpvsService[], operations: IpvsOperation[]): number {
  const deleted = new Set(operations.flatMap((operation) => (operation.op === 'delete-real' ? [`${operation.service} ${operation.real}`] : [])))
  let leaving = 0
  for (const want of desired) {
    const have = current.find((service) => service.protocol === 'tcp' && service.address === want.address)
    const wanted = new Set(want.reals.map((real) => real.address))
    for (const real of have?.reals ?? []) if (!wanted.has(real.address) && !deleted.has(`${want.address} ${real.address}`)) leaving++
  }
  return leaving
}

/** The exact ipvsadm argv for one operation (real servers always masquerade: `-m`). */
export function renderIpvsadm(operation: IpvsOperation): string[] {
  switch (operation.op) {
    case 'add-service':
      return ['ipvsadm', '-A', '-t', operation.service, '-s', operation.scheduler]
    case 'edit-service':
      return ['ipvsadm', '-E', '-t', operation.service, '-s', operation.scheduler]
    case 'delete-service':
      return ['ipvsadm', '-D', '-t', operation.service]
    case 'add-real':
      return ['ipvsadm', '-a', '-t', operation.service, '-r', operation.real, '-m', '-w', String(operation.weight)]
    case 'edit-real':
      return ['ipvsadm', '-e', '-t', operation.service, '-r', operation.real, '-m', '-w', String(operation.weight)]
    case 'delete-real':
      return ['ipvsadm', '-d', '-t', operation.service, '-r', operation.real]
  }
}

/** The operations as `ipvsadm -R` input: one command per line, without the program name. */
export function renderRestore(operations: IpvsOperation[]): string {
  return operations.map((operation) => `${renderIpvsadm(operation).slice(1).join(' ')}\n`).join('')
}
