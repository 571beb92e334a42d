/** The userspace balancer as the server runs it: its proxy as the unit launcho-proxy.service. */
import {join} from 'node:path'
import type {BalancerDeps} from './select.js'
import {SystemdProxyLauncher} from './proxy/launcher.js'
import {UserspaceBalancer} from './userspace.js'

export function createUserspaceBalancer(deps: BalancerDeps): UserspaceBalancer {
  return new UserspaceBalancer({
    dir: join(deps.stateDir.root, 'proxy'),
    launcher: new SystemdProxyLauncher(() => deps.systemd.current),
    proxy: {workers: deps.proxyWorkers ?? 0},
  })
}
