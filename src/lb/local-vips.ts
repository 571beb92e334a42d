/**
 * Service addresses outside 127/8 must be local addresses, or connections to them are routed away
 * (or refused) before NAT/IPVS sees them. launcho adds each such VIP as a /32 on `lo` under its own
 * label, so it can later remove exactly the addresses it added and nothing else.
 */
import {runChecked, type CommandRunner} from './command-runner.js'
import {isLoopback} from './table-check.js'

/** An interface label (`<dev>:<tag>`, at most 15 characters) that marks launcho's addresses. */
export const VIP_LABEL = 'lo:launcho'

interface AddrInfo {
  family?: string
  local?: string
  prefixlen?: number
  label?: string
}

export class LocalVips {
  constructor(private readonly run: CommandRunner) {}

  /** Adds every non-loopback host that is not already a local address. */
  async ensure(hosts: string[]): Promise<void> {
    const wanted = [...new Set(hosts.filter((host) => !isLoopback(host)))]
    if (wanted.length === 0) return
    const {all} = await this.read()
    for (const host of wanted) {
      if (all.has(host)) continue
      await runChecked(this.run, ['ip', 'addr', 'add', `${host}/32`, 'dev', 'lo', 'label', VIP_LABEL], undefined, 'launcho needs CAP_NET_ADMIN to add service addresses to lo')
    }
  }

  /** Removes launcho's own addresses that are no longer service addresses. */
  async prune(keep: string[]): Promise<void> {
    const {ours} = await this.read()
    const keeping = new Set(keep)
    for (const host of ours) {
      if (keeping.has(host)) continue
      await runChecked(this.run, ['ip', 'addr', 'del', `${host}/32`, 'dev', 'lo', 'label', VIP_LABEL], undefined, 'launcho needs CAP_NET_ADMIN to remove service addresses from lo')
    }
  }

  /** The hosts launcho added (by label). */
  async owned(): Promise<string[]> {
    return [...(await this.read()).ours]
  }

  private async read(): Promise<{all: Set<string>; ours: Set<string>}> {
    const out = await runChecked(this.run, ['ip', '-j', '-4', 'addr', 'show'], undefined, 'is iproute2 installed?')
    const links = JSON.parse(out || '[]') as {ifname?: string; addr_info?: AddrInfo[]}[]
    const all = new Set<string>()
    const ours = new Set<string>()
    for (const link of links) {
      for (const addr of link.addr_info ?? []) {
        if (addr.family !== 'inet' || !addr.local) continue
        all.add(addr.local)
        if (link.ifname === 'lo' && addr.label === VIP_LABEL && addr.prefixlen === 32) ours.add(addr.local)
      }
    }
    return {all, ours}
  }
}
