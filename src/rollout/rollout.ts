/**
 * The rollout state machine: every transition of a process's instances lives here, as one pure
 * decision per process from what is desired, what systemd runs and what launcho knows of each
 * instance (health, load-balancer membership, drain start).
 *
 *   start new ─▶ starting ─healthy─▶ serve (add to LB) ─▶ drain old (weight 0) ─drained─▶ stop old
 *                   │ deadline passed while an old version serves
 *                   └────────────▶ fail: stop new, old keeps serving, status says why
 *   serving ─unhealthy─▶ out of the LB at once ─▶ replaced (restarted) ─▶ starting …
 *                                              └─ systemd already restarted it (a crash) ─▶ recheck: starting …
 *   a newer version mid-rollout supersedes it: the unfinished new instance is stopped like any old one.
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {CrashTracker} from '../reconcile/crash-policy.js'
import type {DesiredProcess} from '../reconcile/desired.js'

export type Health = 'starting' | 'healthy' | 'unhealthy' | 'failed'
export type Membership = 'out' | 'in' | 'draining'

/** What launcho knows of one instance beyond what systemd says. */
export interface InstanceFacts {
  health: Health
  /** When a health check of it last passed (epoch ms). */
  lastOkAt?: number
  membership: Membership
  /** When draining began (epoch ms). */
  drainSince?: number
  /** Established connections through the balancer, when it can tell. */
  activeConnections?: number
}

export interface RolloutPolicy {
  drainTimeoutMs: number
}

export type Action =
  | {kind: 'start'; process: DesiredProcess}
  | {kind: 'serve'; unit: string}
  | {kind: 'unserve'; unit: string; reason: string}
  | {kind: 'drain'; units: string[]}
  | {kind: 'stop'; units: string[]; reason: 'removed' | 'replaced' | 'superseded' | 'rollout-failed'}
  | {kind: 'replace'; unit: string}
  | {kind: 'recheck'; unit: string}
  | {kind: 'fail'; unit: string; version: string}
  | {kind: 'hold'; unit: string}
  | {kind: 'wait'; until: number}
  | {kind: 'none'}

export interface ProcessView {
  desired?: DesiredProcess
  units: ObservedUnit[]
  facts: (unit: string) => InstanceFacts
  crash: CrashTracker
  /** Versions whose rollout failed; they are not retried until the desired version changes. */
  failedVersion?: string
  now: number
  policy: RolloutPolicy
}

export function planRollout(view: ProcessView): Action {
  const {desired, units, facts, now} = view
  const current = desired ? units.find((unit) => unit.name === desired.unit) : undefined
  const others = units.filter((unit) => unit !== current)
  const serving = (unit: ObservedUnit) => facts(unit.name).membership === 'in'

  if (!desired) return retire(others, view, 'removed')

  if (view.failedVersion === desired.version) {
    // The old version keeps serving; the failed new one must not linger.
    return current ? {kind: 'stop', units: [current.name], reason: 'rollout-failed'} : {kind: 'none'}
  }

  // An unfinished instance of an older target (never served) is superseded at once.
  const idle = others.filter((unit) => facts(unit.name).membership === 'out')
  if (idle.length > 0) return {kind: 'stop', units: idle.map((unit) => unit.name), reason: 'superseded'}

  if (!current) {
    if (!view.crash.canStart(now)) return {kind: 'wait', until: view.crash.nextStartAt()}
    return {kind: 'start', process: desired}
  }

  const mine = facts(current.name)
  if (view.crash.shouldHold(now)) return {kind: 'hold', unit: current.name}

  switch (mine.health) {
    case 'failed':
      // Never became healthy within its deadline: fail the rollout if something else still serves.
      if (others.some(serving)) return {kind: 'fail', unit: current.name, version: desired.version}
      // Nothing else to fall back on: try a fresh instance.
      return {kind: 'replace', unit: current.name}
    case 'unhealthy':
      if (mine.membership === 'in') return {kind: 'unserve', unit: current.name, reason: 'health check failing'}
      // Between a crash and systemd's restart of it (auto-restart): decide once it runs again.
      if (current.activeState !== 'active') return {kind: 'none'}
      // Its process crashed and systemd started a new one since the last passing check: the
      // failures may be the old process's, and the new one gets its start-up deadline, not a
      // second restart (which would count as another crash).
      if (mine.lastOkAt !== undefined && current.execMainStartUs / 1000 > mine.lastOkAt) {
        return {kind: 'recheck', unit: current.name}
      }
      return {kind: 'replace', unit: current.name}
    case 'starting':
      return {kind: 'none'}
    case 'healthy':
      if (current.activeState !== 'active') return {kind: 'none'}
      if (mine.membership !== 'in') return {kind: 'serve', unit: current.name}
      return retire(others, view, 'replaced')
  }
}

/** Drains serving instances, then stops them once drained; instances not serving stop at once. */
function retire(units: ObservedUnit[], view: ProcessView, reason: 'removed' | 'replaced'): Action {
  if (units.length === 0) return {kind: 'none'}
  const toDrain = units.filter((unit) => view.facts(unit.name).membership === 'in')
  if (toDrain.length > 0) return {kind: 'drain', units: toDrain.map((unit) => unit.name)}
  let wakeAt = Number.POSITIVE_INFINITY
  const done: string[] = []
  for (const unit of units) {
    const facts = view.facts(unit.name)
    if (facts.membership === 'out') {
      done.push(unit.name)
      continue
    }
    const deadline = (facts.drainSince ?? view.now) + view.policy.drainTimeoutMs
    if (facts.activeConnections === 0 || view.now >= deadline) done.push(unit.name)
    else wakeAt = Math.min(wakeAt, deadline)
  }
  if (done.length > 0) {
    return {kind: 'stop', units: done, reason}
  }
  return {kind: 'wait', until: wakeAt}
}
