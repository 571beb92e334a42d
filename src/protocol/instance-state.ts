/** One word for what an instance does (never systemd's `active/running` pairs): status and the rollout judgement share it. */
import type {InstanceStatus} from './status.js'

export function instanceState(instance: Pick<InstanceStatus, 'activeState' | 'subState' | 'traffic'>): string {
  if (instance.traffic === 'draining') return 'draining'
  switch (instance.activeState) {
    case 'active':
      return instance.subState === 'running' ? 'running' : instance.subState
    case 'activating':
      return 'starting'
    case 'deactivating':
      return 'stopping'
    case 'failed':
      return 'failed'
    default:
      return instance.activeState
  }
}
