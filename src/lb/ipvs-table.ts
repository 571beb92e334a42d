/**
 * The IPVS table as launcho sees it, read from the kernel through ipvsadm: `ipvsadm -S -n`
 * (restore-format lines: the exact configuration) and `ipvsadm -L -n` (adds connection counts).
 */
export type Forward = 'masq' | 'gate' | 'ipip'

export interface IpvsReal {
  /** `host:port` */
  address: string
  forward: Forward
  weight: number
  /** ActiveConn (established) from `-L -n`, when it was read. */
  active?: number
  /** InActConn from `-L -n`, when it was read. */
  inactive?: number
}

export interface IpvsService {
  protocol: 'tcp' | 'udp' | 'sctp' | 'fwmark'
  /** `host:port`, or the mark for fwmark services. */
  address: string
  scheduler: string
  /** Service options other than the scheduler (`-p 300`, `-M …`, `-b …`), as ipvsadm printed them. */
  options: string[]
  reals: IpvsReal[]
}

const protocolOf: Record<string, IpvsService['protocol']> = {'-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp', '-f': 'fwmark'}
const forwardOf: Record<string, Forward> = {'-m': 'masq', '-g': 'gate', '-i': 'ipip'}

/** Parses `ipvsadm -S -n`. Lines it does not understand are ignored rather than guessed at. */
export function parseIpvsSave(text: string): IpvsService[] {
  const services: IpvsService[] = []
  const find = (protocol: string, address: string) => services.find((s) => s.protocol === protocol && s.address === address)
  for (const line of text.split('\n')) {
    const args = line.trim().split(/\s+/)
    const protocol = protocolOf[args[1]]
    const address = args[2]
    if (!protocol || !address) continue
    if (args[0] === '-A') {
      const options: string[] = []
      let scheduler = 'wlc'
      for (let i = 3; i < args.length; i++) {
        if (args[i] === '-s') scheduler = args[++i] ?? scheduler
        else options.push(args[i])
      }
      services.push({protocol, address, scheduler, options, reals: []})
    } else if (args[0] === '-a' && args[3] === '-r' && args[4]) {
      const service = find(protocol, address)
      if (!service) continue
      let forward: Forward = 'gate'
      let weight = 1
      for (let i = 5; i < args.length; i++) {
        if (forwardOf[args[i]]) forward = forwardOf[args[i]]
        else if (args[i] === '-w') weight = Number(args[++i])
      }
      service.reals.push({address: args[4], forward, weight})
    }
  }
  return services
}

/** Parses `ipvsadm -L -n` into `protocol:service → real → {active, inactive}`. */
export function parseIpvsList(text: string): Map<string, Map<string, {active: number; inactive: number}>> {
  const counts = new Map<string, Map<string, {active: number; inactive: number}>>()
  let current: Map<string, {active: number; inactive: number}> | undefined
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/)
    const protocol = {TCP: 'tcp', UDP: 'udp', SCTP: 'sctp', FWM: 'fwmark'}[fields[0]]
    if (protocol && fields[1]) {
      current = new Map()
      counts.set(`${protocol}:${fields[1]}`, current)
    } else if (fields[0] === '->' && current && /^\d+$/.test(fields[3] ?? '')) {
      // -> RemoteAddress:Port Forward Weight ActiveConn InActConn
      current.set(fields[1], {active: Number(fields[4]), inactive: Number(fields[5])})
    }
  }
  return counts
}

/** The save-format table with the connection counts of a `-L -n` listing merged in. */
export function withConnections(services: IpvsService[], listText: string): IpvsService[] {
  const counts = parseIpvsList(listText)
  return services.map((service) => ({
    ...service,
    reals: service.reals.map((real) => ({...real, ...counts.get(`${service.protocol}:${service.address}`)?.get(real.address)})),
  }))
}
