/**
 * The rollout state machine: every transition of a process's instances lives here, as one pure
 * decision per process from what is desired, what systemd runs and what launcho knows of each
 * instance (its Instance's facts: health, load-balancer membership, drain deadline).
 *
 * With `replicas: N` each desired replica goes through the machine below on its own; the rollout
 * is rolling: at most `maxSurge` instances above N that are not leaving, an old instance drains
 * only once the serving ones number more than N, and a new replica that fails stops the rollout
 * with the old ones still serving. A replica of the desired version beyond N (a scale-down)
 * drains like an old one; a scale-up only starts the missing replicas.
 *
 *   start new ─▶ starting ─healthy─▶ serve (add to LB, old to weight 0: one change) ─drained─▶ stop old
 *                   │ deadline passed while an old version serves
 *                   └────────────▶ fail: stop new, old keeps serving, status says why
 *   serving ─unhealthy─▶ out of the LB at once ─▶ replaced (restarted) ─▶ starting …
 *                                              └─ systemd already restarted it (a crash) ─▶ recheck: starting …
 *   a newer version mid-rollout supersedes it: the unfinished new instance is stopped like any old one.
 *   removed from the target while another process takes over its service (a rename): it serves
 *   until that one does (or its start-up deadline passed), then drains like any old instance.
 */
import type {ObservedUnit} from '../systemd/manager.js'
import type {CrashTracker} from '../reconcile/crash-policy.js'
import type {DesiredProcess} from '../reconcile/desired.js'
import type {Phase} from './instance.js'
import {replicaOf} from '../systemd/unit-name.js'

export type Health = 'starting' | 'healthy' | 'unhealthy' | 'failed'
export type Membership = 'out' | 'in' | 'draining'

/** What launcho knows of one instance beyond what systemd says (from its Instance, instance.ts). */
export interface InstanceFacts {
  /** Informational, but for one word: an old instance out of the balancer in phase `draining` was retired (replaced), not superseded. */
  phase?: Phase
  health: Health
  /** When a health check of it last passed (epoch ms). */
  lastOkAt?: number
  membership: Membership
  /** When draining began (epoch ms). */
  drainSince?: number
  /** When draining ends whatever the connections (epoch ms); default drainSince + policy.drainTimeoutMs. */
  drainDeadline?: number
  /** Established connections through the balancer, when it can tell. */
  activeConnections?: number
}

export interface RolloutPolicy {
  drainTimeoutMs: number
}

export type Action =
  | {kind: 'start'; process: DesiredProcess; unit: string}
  /** Into the balancer; `drain` are the old instances it replaces, taken out in the same change. */
  | {kind: 'serve'; unit: string; drain?: string[]}
  | {kind: 'unserve'; unit: string; reason: string}
  | {kind: 'drain'; units: string[]}
  | {kind: 'stop'; units: string[]; reason: StopReason}
  | {kind: 'replace'; unit: string}
  | {kind: 'recheck'; unit: string}
  | {kind: 'fail'; unit: string; version: string}
  | {kind: 'hold'; units: string[]}
  | {kind: 'wait'; until: number}
  | {kind: 'none'}

export type StopReason = 'removed' | 'replaced' | 'superseded' | 'rollout-failed' | 'scaled-down'

export interface ProcessView {
  desired?: DesiredProcess
  units: ObservedUnit[]
  facts: (unit: string) => InstanceFacts
  crash: CrashTracker
  /** Versions whose rollout failed; they are not retried until the desired version changes. */
  failedVersion?: string
  /**
   * A process removed from the target whose services other desired processes receive but none
   * of them serve yet (a rename, a split): its serving instances keep serving until one does,
   * at the latest until this time (epoch ms).
   */
  handoverUntil?: number
  now: number
  policy: RolloutPolicy
}

export function planRollout(view: ProcessView): Action {
  const {desired, units, facts, now} = view
  if (!desired) {
    const serves = units.some((unit) => facts(unit.name).membership === 'in')
    if (serves && view.handoverUntil !== undefined && now < view.handoverUntil) return {kind: 'wait', until: view.handoverUntil}
    return retire(units, view, 'removed')
  }
  const wanted = new Set(desired.units)
  const current = units.filter((unit) => wanted.has(unit.name)).sort(byReplica)
  const others = units.filter((unit) => !wanted.has(unit.name))
  const serving = (unit: ObservedUnit) => facts(unit.name).membership === 'in'

  if (view.failedVersion === desired.version) {
    // The rollout stops where it is: what serves keeps serving, the failed new ones must not linger.
    const failed = current.filter((unit) => !serving(unit))
    if (failed.length > 0) return {kind: 'stop', units: failed.map((unit) => unit.name), reason: 'rollout-failed'}
    return finishDrains(others, view, 'replaced')
  }

  // An unfinished instance of an older target, or a replica scaled away, that never served (or
  // no longer does) stops at once; so does an old one retired with nothing to drain (a process
  // that receives no service), which was replaced rather than superseded.
  const idle = others.filter((unit) => facts(unit.name).membership === 'out')
  if (idle.length > 0) {
    const scaled = idle.every((unit) => unit.version === desired.version)
    const retired = idle.every((unit) => facts(unit.name).phase === 'draining')
    return {kind: 'stop', units: idle.map((unit) => unit.name), reason: scaled ? 'scaled-down' : retired ? 'replaced' : 'superseded'}
  }

  if (current.length > 0 && view.crash.shouldHold(now)) {
    const crashing = current.filter((unit) => !serving(unit))
    return {kind: 'hold', units: (crashing.length > 0 ? crashing : current).map((unit) => unit.name)}
  }

  const oldServe = others.some(serving)
  for (const unit of current) {
    const action = planInstance(unit, facts(unit.name), desired, oldServe)
    if (action?.kind === 'serve') {
      // The drain this serve allows goes with it: one balancer change moves the traffic over.
      const toDrain = drainable(others.filter(serving), units.filter(serving).length + 1 - desired.replicas, desired.version)
      return toDrain.length > 0 ? {...action, drain: toDrain} : action
    }
    if (action) return action
  }

  // Rolling: at most maxSurge instances above `replicas` that are not on their way out.
  const missing = desired.units.filter((unit) => !current.some((observed) => observed.name === unit))
  if (missing.length > 0) {
    const live = current.length + others.filter(serving).length
    if (live < desired.replicas + desired.maxSurge) {
      if (!view.crash.canStart(now)) return {kind: 'wait', until: view.crash.nextStartAt()}
      return {kind: 'start', process: desired, unit: missing[0]!}
    }
  }

  // Never fewer than `replicas` serving: an old instance drains only for a serving new one.
  const toDrain = drainable(others.filter(serving), units.filter(serving).length - desired.replicas, desired.version)
  if (toDrain.length > 0) return {kind: 'drain', units: toDrain}
  const draining = others.filter((unit) => facts(unit.name).membership === 'draining')
  return finishDrains(draining, view, draining.length > 0 && draining.every((unit) => unit.version === desired.version) ? 'scaled-down' : 'replaced')
}

/** The `surplus` serving instances that go first (old versions, then the highest replicas). */
function drainable(servingOthers: ObservedUnit[], surplus: number, version: string): string[] {
  if (surplus <= 0) return []
  return servingOthers.sort(drainOrder(version)).slice(0, surplus).map((unit) => unit.name)
}

/** One desired replica: what its health asks for, if anything. */
function planInstance(unit: ObservedUnit, mine: InstanceFacts, desired: DesiredProcess, oldServe: boolean): Action | undefined {
  switch (mine.health) {
    case 'failed':
      // Never became healthy within its deadline: fail the rollout if an old version still serves.
      if (oldServe) return {kind: 'fail', unit: unit.name, version: desired.version}
      // Nothing old to fall back on: try a fresh instance.
      return {kind: 'replace', unit: unit.name}
    case 'unhealthy':
      if (mine.membership === 'in') return {kind: 'unserve', unit: unit.name, reason: 'health check failing'}
      // Between a crash and systemd's restart of it (auto-restart): decide once it runs again.
      if (unit.activeState !== 'active') return undefined
      // Its process crashed and systemd started a new one since the last passing check: the
      // failures may be the old process's, and the new one gets its start-up deadline, not a
      // second restart (which would count as another crash).
      if (mine.lastOkAt !== undefined && unit.execMainStartUs / 1000 > mine.lastOkAt) return {kind: 'recheck', unit: unit.name}
      return {kind: 'replace', unit: unit.name}
    case 'starting':
      return undefined
    case 'healthy':
      if (unit.activeState !== 'active') return undefined
      if (mine.membership !== 'in') return {kind: 'serve', unit: unit.name}
      return undefined
  }
}

/** Drains serving instances, then stops them once drained; instances not serving stop at once. */
function retire(units: ObservedUnit[], view: ProcessView, reason: StopReason): Action {
  const toDrain = units.filter((unit) => view.facts(unit.name).membership === 'in')
  if (toDrain.length > 0) return {kind: 'drain', units: toDrain.map((unit) => unit.name)}
  return finishDrains(units, view, reason)
}

/** Stops the instances that are out of the balancer, or drained (idle, or past their deadline). */
function finishDrains(units: ObservedUnit[], view: ProcessView, reason: StopReason): Action {
  let wakeAt = Number.POSITIVE_INFINITY
  const done: string[] = []
  for (const unit of units) {
    const facts = view.facts(unit.name)
    if (facts.membership === 'in') continue
    if (facts.membership === 'out') {
      done.push(unit.name)
      continue
    }
    const deadline = facts.drainDeadline ?? (facts.drainSince ?? view.now) + view.policy.drainTimeoutMs
    if (facts.activeConnections === 0 || view.now >= deadline) done.push(unit.name)
    else wakeAt = Math.min(wakeAt, deadline)
  }
  if (done.length > 0) return {kind: 'stop', units: done, reason}
  if (Number.isFinite(wakeAt)) return {kind: 'wait', until: wakeAt}
  return {kind: 'none'}
}

function byReplica(a: ObservedUnit, b: ObservedUnit): number {
  return (replicaOf(a.name) ?? 0) - (replicaOf(b.name) ?? 0)
}

/** Old versions drain first, then the highest replica indexes (a scale-down keeps the lowest). */
function drainOrder(version: string) {
  return (a: ObservedUnit, b: ObservedUnit): number => {
    const oldA = a.version === version ? 1 : 0
    const oldB = b.version === version ? 1 : 0
    return oldA - oldB || (replicaOf(b.name) ?? 0) - (replicaOf(a.name) ?? 0)
  }
}
