/**
 * Chooses the load balancer from the server config: `auto` takes ipvs where the kernel has it,
 * else nftables, else the userspace proxy. The choice and why are logged and shown in status.
 */
import type {Logger} from 'pino'
import {LaunchoError} from '../errors.js'
import type {StateDir} from '../store/state-dir.js'
import type {SystemdConnection} from '../systemd/connection.js'
import type {Balancer, BalancerKind} from './balancer.js'
import {detectIpvs, IpvsBalancer} from './ipvs.js'
import {detectNftables, NftablesBalancer} from './nftables.js'
import {createUserspaceBalancer} from './userspace-setup.js'

export interface BalancerDeps {
  stateDir: StateDir
  systemd: SystemdConnection
  logger: Logger
  /** The userspace proxy's threads; 0 or absent = half the CPUs, at least 1. */
  proxyWorkers?: number
}

export async function createBalancer(choice: 'auto' | BalancerKind, deps: BalancerDeps): Promise<Balancer> {
  const kind = choice === 'auto' ? await detect(deps.logger) : choice
  if (choice !== 'auto') {
    const probe = kind === 'ipvs' ? await detectIpvs() : kind === 'nftables' ? await detectNftables() : {available: true}
    if (!probe.available) {
      throw new LaunchoError('invalid_request', `lb: ${kind} is configured but not usable here: ${probe.reason}`, {
        hint: `${probe.hint ?? ''}${probe.hint ? '; ' : ''}or set lb: auto in the server config`,
      })
    }
  }
  deps.logger.info({lb: kind, configured: choice}, 'load balancer chosen')
  switch (kind) {
    case 'ipvs':
      return new IpvsBalancer({ownedFile: `${deps.stateDir.root}/ipvs-owned.json`})
    case 'nftables':
      return new NftablesBalancer({routeLocalnet: false})
    case 'userspace':
      return createUserspaceBalancer(deps)
  }
}

async function detect(logger: Logger): Promise<BalancerKind> {
  const ipvs = await detectIpvs()
  if (ipvs.available) return 'ipvs'
  const nft = await detectNftables()
  if (nft.available) return 'nftables'
  logger.info({ipvs: ipvs.reason, nftables: nft.reason}, 'no kernel load balancer here; using the userspace proxy')
  return 'userspace'
}
