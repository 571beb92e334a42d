/**
 * The reconciler's decision for one process, as a pure function of what is desired, what systemd
 * runs and the crash policy's state. Safe to evaluate any number of times.
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {CrashTracker} from './crash-policy.js'
import type {DesiredProcess} from './desired.js'

export type Action =
  | {kind: 'start'; process: DesiredProcess}
  | {kind: 'stop'; units: string[]; reason: 'removed' | 'replaced'}
  | {kind: 'hold'; unit: string}
  | {kind: 'wait'; until: number}
  | {kind: 'none'}

export function planProcess(
  desired: DesiredProcess | undefined,
  units: ObservedUnit[],
  crash: CrashTracker,
  now: number,
): Action {
  if (!desired) {
    return units.length > 0 ? {kind: 'stop', units: units.map((u) => u.name), reason: 'removed'} : {kind: 'none'}
  }
  const current = units.find((unit) => unit.name === desired.unit)
  const previous = units.filter((unit) => unit.name !== desired.unit)
  if (current) {
    if (crash.shouldHold(now)) return {kind: 'hold', unit: current.name}
    // New before old: the previous version keeps running until the new one is up.
    if (previous.length > 0 && current.activeState === 'active') {
      return {kind: 'stop', units: previous.map((u) => u.name), reason: 'replaced'}
    }
    return {kind: 'none'}
  }
  if (!crash.canStart(now)) return {kind: 'wait', until: crash.nextStartAt()}
  return {kind: 'start', process: desired}
}
