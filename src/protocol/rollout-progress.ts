/**
 * Where one process stands in the rollout a change started, judged from `status`: still on its
 * way (a phase and what each instance does), serving its new version, stopped, or failed with
 * the reason. The server's own verdicts come first (rollout-failed); a new version that keeps
 * crashing or cannot start also counts as failed here, while the server keeps retrying it.
 */
import type {ProcessChange} from './changes.js'
import {instanceState} from './instance-state.js'
import type {InstanceStatus, ProcessStatus} from './status.js'

export type Outcome = 'serving' | 'stopped' | 'failed'

export interface Progress {
  process: string
  change: ProcessChange
  /** Set once the process's part of the rollout is over. */
  outcome?: Outcome
  /** One word: pending, starting, checking, healthy, serving, stopping, stopped, failed. */
  phase: string
  /** What its instances do, e.g. "new: checking (HTTP 500) · old 1a2b3c4d: draining". */
  detail: string
  /** Why it failed. */
  reason?: string
  /** A failed beforeRollout hook's last lines of output. */
  output?: string[]
}

/** The changes a caller waits for: every one that starts, replaces or stops something. */
export function changesToFollow(changes: ProcessChange[]): ProcessChange[] {
  return changes.filter((change) => change.change !== 'unchanged')
}

export function progressOf(change: ProcessChange, status: ProcessStatus | undefined): Progress {
  const base = {process: change.process, change}
  const instances = status?.instances ?? []
  if (change.change === 'stop') {
    const left = instances
    if (left.length === 0) return {...base, outcome: 'stopped', phase: 'stopped', detail: ''}
    return {...base, phase: 'stopping', detail: left.map((instance) => `${instance.version}: ${instanceState(instance)}`).join(' · ')}
  }
  const version = change.to!
  const failed = (reason: string): Progress => ({...base, outcome: 'failed', phase: 'failed', detail: describe(instances, version), reason})
  if (!status) return failed('superseded: a newer change removed it from the target')
  if (status.version !== version) return failed(`superseded: a newer change wants version ${status.version ?? 'none'}`)
  if (status.rolloutFailure?.version === version) {
    const {reason, output} = status.rolloutFailure
    return {...failed(`rollout-failed: ${reason}`), ...(output?.length ? {output} : {})}
  }
  const mine = instances.filter((instance) => instance.version === version)
  const old = instances.filter((instance) => instance.version !== version)
  // The crash policy is per process: a loop of the old version is not the new one's failure.
  // Replica 0's unit ends `-<version>.service`, the others' `-<version>-<replica>.service`.
  const ownFailure = status.lastFailure && new RegExp(`-${version}(?:-\\d+)?\\.service$`).test(status.lastFailure.unit) ? status.lastFailure.reason : undefined
  if ((status.state === 'crash-looping' || status.state === 'failing-to-start') && ownFailure !== undefined) {
    return failed(`${status.state}: ${ownFailure}`)
  }
  // A new process with no older version to keep serving: the server restarts it and tries again,
  // but the deploy did not work.
  if (ownFailure?.startsWith('not healthy within its start-up deadline')) return failed(ownFailure)
  const neverHealthy = mine.find((instance) => instance.health === 'failed')
  if (neverHealthy) return failed(`never healthy within its start-up deadline${neverHealthy.lastCheck && !neverHealthy.lastCheck.ok ? `: ${neverHealthy.lastCheck.detail}` : ''}`)
  const detail = describe(instances, version)
  // Every desired replica runs (a server that does not say how many: at least one).
  const allThere = mine.length >= (status.replicas ?? 1)
  if (allThere && mine.every((instance) => instance.traffic === 'in') && !old.some((instance) => instance.traffic === 'in')) {
    return {...base, outcome: 'serving', phase: 'serving', detail}
  }
  return {...base, phase: mine.length === 0 ? (status.state === 'starting' ? 'starting' : 'pending') : phaseOf(mine[0]!), detail}
}

function phaseOf(instance: InstanceStatus): string {
  if (instance.activeState !== 'active') return instance.activeState === 'activating' ? 'starting' : instanceState(instance)
  if (instance.health === 'healthy') return instance.traffic === 'in' ? 'serving' : 'healthy'
  return 'checking'
}

/** "new: checking (HTTP 500) · old 1a2b3c4d: draining" */
function describe(instances: InstanceStatus[], version: string): string {
  const newFirst = [...instances].sort((a, b) => Number(b.version === version) - Number(a.version === version))
  const parts = newFirst.map((instance) => {
    const who = instance.version === version ? 'new' : `old ${instance.version}`
    const check = instance.lastCheck && !instance.lastCheck.ok && instance.version === version ? ` (${instance.lastCheck.detail})` : ''
    const what = instance.version === version ? phaseOf(instance) : instanceState(instance)
    return `${who}: ${what}${check}`
  })
  return parts.join(' · ')
}
