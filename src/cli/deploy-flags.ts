/** The flags of every command that starts a rollout and follows it (deploy.ts). */
import {Flags} from '@oclif/core'
import {DEFAULT_TIMEOUT} from './deploy.js'

export const deployFlags = {
  detach: Flags.boolean({description: 'return once the server took the change, without following the rollout'}),
  timeout: Flags.string({
    description: 'stop waiting after this long (e.g. 90s, 10m, 1h; 0: no limit), with exit 1; the rollout goes on',
    default: DEFAULT_TIMEOUT,
  }),
}
