/** What moving from one desired state to another does to each process (for `t set` and later `t diff`). */
import type {DesiredState} from '../reconcile/desired.js'

export type ChangeKind = 'start' | 'replace' | 'stop' | 'unchanged'

export interface ProcessChange {
  process: string
  change: ChangeKind
  from?: string
  to?: string
}

export function changesBetween(before: DesiredState, after: DesiredState): ProcessChange[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort()
  return names.map((process) => {
    const old = before.get(process)
    const next = after.get(process)
    if (!old) return {process, change: 'start', to: next!.version}
    if (!next) return {process, change: 'stop', from: old.version}
    if (old.version === next.version) return {process, change: 'unchanged', from: old.version, to: next.version}
    return {process, change: 'replace', from: old.version, to: next.version}
  })
}
