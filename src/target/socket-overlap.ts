/**
 * Whether two HOST:PORT addresses would take the same connections: the same port and hosts that
 * overlap, where 0.0.0.0 covers every IPv4 address and [::] every address (Linux listens on both
 * families there), `localhost` is 127.0.0.1 and ::1, and any other host name may be anything.
 */
import {isIPv4, isIPv6} from 'node:net'

export interface HostPort {
  host: string
  port: number
}

type Hosts = {kind: 'any'} | {kind: 'any-ipv4'} | {kind: 'some'; addresses: string[]}

/** `127.0.0.1:80`, `[::1]:80`, `localhost:80` → host (without brackets) and port. */
export function splitHostPort(address: string): HostPort {
  const at = address.lastIndexOf(':')
  return {host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1))}
}

export function socketsOverlap(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port) return false
  const [x, y] = [hostsOf(a.host), hostsOf(b.host)]
  if (x.kind === 'any' || y.kind === 'any') return true
  if (x.kind === 'any-ipv4') return y.kind === 'any-ipv4' || y.addresses.some(isIPv4)
  if (y.kind === 'any-ipv4') return x.addresses.some(isIPv4)
  return x.addresses.some((address) => y.addresses.includes(address))
}

function hostsOf(host: string): Hosts {
  const name = host.toLowerCase()
  if (name === 'localhost') return {kind: 'some', addresses: ['127.0.0.1', '::1']}
  if (isIPv4(name)) return name === '0.0.0.0' ? {kind: 'any-ipv4'} : {kind: 'some', addresses: [name]}
  if (!isIPv6(name)) return {kind: 'any'} // a host name: it may resolve to anything
  const address = canonicalIPv6(name)
  if (address === '::') return {kind: 'any'}
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address)
  if (!mapped) return {kind: 'some', addresses: [address]}
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)]
  return hostsOf([high >> 8, high & 255, low >> 8, low & 255].join('.'))
}

/** One spelling per IPv6 address (the URL standard's: lowercase, zeros compressed); a zone id stays as written. */
function canonicalIPv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1)
  } catch {
    return address
  }
}
