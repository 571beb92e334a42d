/**
 * Checks service tables before a kernel balancer turns them into nft text or ipvsadm lines: the
 * values end up inside a ruleset, so anything that is not a plain name, IPv4 address, port or
 * weight is refused rather than quoted.
 */
import {LaunchoError} from '../errors.js'
import type {Endpoint, ServiceTable} from './balancer.js'

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const serviceName = /^[a-z0-9-]+$/

export function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.host}:${endpoint.port}`
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.')
}

/** Throws `invalid_request` naming every bad field; returns the tables unchanged otherwise. */
export function checkTables(tables: ServiceTable[]): ServiceTable[] {
  const problems: {field: string; message: string}[] = []
  const names = new Set<string>()
  const addresses = new Map<string, string>()
  tables.forEach((table, i) => {
    const at = `services[${i}]`
    if (!serviceName.test(table.name)) problems.push({field: `${at}.name`, message: `"${table.name}" is not [a-z0-9-]+`})
    if (names.has(table.name)) problems.push({field: `${at}.name`, message: `service "${table.name}" is listed twice`})
    names.add(table.name)
    checkEndpoint(table.on, `${at}.on`, problems)
    const key = endpointKey(table.on)
    const other = addresses.get(key)
    if (other !== undefined) problems.push({field: `${at}.on`, message: `${key} is already the address of service "${other}"`})
    addresses.set(key, table.name)
    const backends = new Set<string>()
    table.backends.forEach((backend, j) => {
      const where = `${at}.backends[${j}]`
      checkEndpoint(backend, where, problems)
      if (!Number.isInteger(backend.weight) || backend.weight < 0 || backend.weight > 65_535) {
        problems.push({field: `${where}.weight`, message: `${backend.weight} is not an integer from 0 to 65535`})
      }
      if (backends.has(endpointKey(backend))) problems.push({field: where, message: `${endpointKey(backend)} is listed twice`})
      backends.add(endpointKey(backend))
    })
  })
  if (problems.length > 0) {
    throw new LaunchoError('invalid_request', `the load-balancer table is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, {
      hint: 'services need a [a-z0-9-]+ name and an IPv4 address:port; backends an IPv4 address:port and an integer weight',
      problems,
    })
  }
  return tables
}

function checkEndpoint(endpoint: Endpoint, field: string, problems: {field: string; message: string}[]): void {
  if (!ipv4.test(endpoint.host)) problems.push({field: `${field}.host`, message: `"${endpoint.host}" is not an IPv4 address`})
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65_535) {
    problems.push({field: `${field}.port`, message: `${endpoint.port} is not a port from 1 to 65535`})
  }
}
