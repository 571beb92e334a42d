import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CrashTracker} from '../../src/reconcile/crash-policy.js'
import type {DesiredProcess} from '../../src/reconcile/desired.js'
import {planRollout, type InstanceFacts, type ProcessView} from '../../src/rollout/rollout.js'
import type {ObservedUnit} from '../../src/systemd/manager.js'
import {observedUnit} from '../helpers/observed-unit.js'

const spec = {name: 'web', command: ['node', 'server.js'], env: {}, resources: [], receives: ['traffic']}
const desired = (version: string): DesiredProcess => ({
  spec,
  template: spec,
  secretDigests: {},
  generation: 0,
  version,
  replicas: 1,
  maxSurge: 1,
  unit: `launcho-web-${version}.service`,
  units: [`launcho-web-${version}.service`],
  argv: {command: spec.command.map((word) => [word])},
})
const unit = (version: string, activeState = 'active'): ObservedUnit => observedUnit(version, {activeState})
const OLD = 'aaaaaaaa'
const NEW = 'bbbbbbbb'
const NEWER = 'cccccccc'
const name = (version: string) => `launcho-web-${version}.service`

function view(version: string | undefined, units: ObservedUnit[], facts: Record<string, Partial<InstanceFacts>>, extra: Partial<ProcessView> = {}): ProcessView {
  return {
    ...(version ? {desired: desired(version)} : {}),
    units,
    facts: (u) => ({health: 'healthy', membership: 'out', ...facts[u]}),
    crash: new CrashTracker(),
    now: 100_000,
    policy: {drainTimeoutMs: 30_000},
    ...extra,
  }
}

describe('rollout state machine', () => {
  it('starts the new version alongside the old one, which keeps serving', () => {
    assert.equal(planRollout(view(NEW, [unit(OLD)], {[name(OLD)]: {membership: 'in'}})).kind, 'start')
  })

  it('waits while the new instance is starting', () => {
    const v = view(NEW, [unit(OLD), unit(NEW)], {[name(OLD)]: {membership: 'in'}, [name(NEW)]: {health: 'starting'}})
    assert.deepEqual(planRollout(v), {kind: 'none'})
  })

  it('adds a healthy new instance to the balancer and drains the old one in the same change', () => {
    const units = [unit(OLD), unit(NEW)]
    assert.deepEqual(planRollout(view(NEW, units, {[name(OLD)]: {membership: 'in'}})), {kind: 'serve', unit: name(NEW), drain: [name(OLD)]})
    // Nothing old: it only serves.
    assert.deepEqual(planRollout(view(NEW, [unit(NEW)], {})), {kind: 'serve', unit: name(NEW)})
    assert.deepEqual(planRollout(view(NEW, units, {[name(OLD)]: {membership: 'in'}, [name(NEW)]: {membership: 'in'}})), {
      kind: 'drain',
      units: [name(OLD)],
    })
  })

  it('stops a draining instance once idle, or at the drain timeout, and not before', () => {
    const units = [unit(OLD), unit(NEW)]
    const draining = (extra: Partial<InstanceFacts>) =>
      view(NEW, units, {[name(OLD)]: {membership: 'draining', drainSince: 90_000, ...extra}, [name(NEW)]: {membership: 'in'}})
    assert.deepEqual(planRollout(draining({activeConnections: 2})), {kind: 'wait', until: 120_000})
    assert.deepEqual(planRollout(draining({})), {kind: 'wait', until: 120_000})
    assert.deepEqual(planRollout(draining({activeConnections: 0})), {kind: 'stop', units: [name(OLD)], reason: 'replaced'})
    assert.deepEqual(planRollout(draining({drainSince: 60_000, activeConnections: 5})), {kind: 'stop', units: [name(OLD)], reason: 'replaced'})
  })

  it('fails a rollout whose new version never turns healthy; the old one keeps serving', () => {
    const units = [unit(OLD), unit(NEW)]
    const v = view(NEW, units, {[name(OLD)]: {membership: 'in'}, [name(NEW)]: {health: 'failed'}})
    assert.deepEqual(planRollout(v), {kind: 'fail', unit: name(NEW), version: NEW})
    const after = view(NEW, units, {[name(OLD)]: {membership: 'in'}, [name(NEW)]: {health: 'failed'}}, {failedVersion: NEW})
    assert.deepEqual(planRollout(after), {kind: 'stop', units: [name(NEW)], reason: 'rollout-failed'})
    const settled = view(NEW, [unit(OLD)], {[name(OLD)]: {membership: 'in'}}, {failedVersion: NEW})
    assert.deepEqual(planRollout(settled), {kind: 'none'}, 'the failed version is not retried')
  })

  it('takes an instance that turns unhealthy out of the balancer at once, then replaces it', () => {
    const units = [unit(NEW)]
    assert.deepEqual(planRollout(view(NEW, units, {[name(NEW)]: {health: 'unhealthy', membership: 'in'}})), {
      kind: 'unserve',
      unit: name(NEW),
      reason: 'health check failing',
    })
    assert.deepEqual(planRollout(view(NEW, units, {[name(NEW)]: {health: 'unhealthy'}})), {kind: 'replace', unit: name(NEW)})
  })

  it('rechecks instead of restarting an unhealthy instance whose process systemd restarted since it last passed', () => {
    const restartedAt = {...unit(NEW), execMainStartUs: 50_000_000}
    const failing = (lastOkAt: number) => ({[name(NEW)]: {health: 'unhealthy' as const, lastOkAt}})
    // Last passing check at 49.9 s, new process started at 50 s (a crash): its failures are the old one's.
    assert.deepEqual(planRollout(view(NEW, [restartedAt], failing(49_900))), {kind: 'recheck', unit: name(NEW)})
    // Passed at 50.1 s, after the process started, and failing since: it hangs; replace it.
    assert.deepEqual(planRollout(view(NEW, [restartedAt], failing(50_100))), {kind: 'replace', unit: name(NEW)})
    // Between the crash and systemd's restart (auto-restart), the start time is the old process's: wait.
    const betweenProcesses = {...unit(NEW, 'activating'), execMainStartUs: 10_000_000}
    assert.deepEqual(planRollout(view(NEW, [betweenProcesses], failing(49_900))), {kind: 'none'})
  })

  it('lets a newer version supersede an unfinished rollout cleanly', () => {
    const units = [unit(OLD), unit(NEW)]
    const facts = {[name(OLD)]: {membership: 'in' as const}, [name(NEW)]: {health: 'starting' as const}}
    assert.deepEqual(planRollout(view(NEWER, units, facts)), {kind: 'stop', units: [name(NEW)], reason: 'superseded'})
    assert.equal(planRollout(view(NEWER, [unit(OLD)], facts)).kind, 'start')
  })

  it('an old instance retired with nothing to drain (it receives no service) stops as replaced, not superseded', () => {
    const v = view(NEW, [unit(OLD), unit(NEW)], {[name(OLD)]: {membership: 'out', phase: 'draining'}, [name(NEW)]: {membership: 'in'}})
    assert.deepEqual(planRollout(v), {kind: 'stop', units: [name(OLD)], reason: 'replaced'})
  })

  it('a removed process whose service another process takes over serves until that one does, at most until its deadline', () => {
    const serving = {[name(OLD)]: {membership: 'in' as const}}
    assert.deepEqual(planRollout(view(undefined, [unit(OLD)], serving, {handoverUntil: 160_000})), {kind: 'wait', until: 160_000})
    assert.deepEqual(planRollout(view(undefined, [unit(OLD)], serving, {handoverUntil: 100_000})), {kind: 'drain', units: [name(OLD)]}, 'the deadline passed')
    assert.deepEqual(planRollout(view(undefined, [unit(OLD)], {}, {handoverUntil: 160_000})), {kind: 'stop', units: [name(OLD)], reason: 'removed'}, 'nothing of it serves')
  })

  it('drains then stops a process removed from the target', () => {
    assert.deepEqual(planRollout(view(undefined, [unit(OLD)], {[name(OLD)]: {membership: 'in'}})), {kind: 'drain', units: [name(OLD)]})
    assert.deepEqual(planRollout(view(undefined, [unit(OLD)], {})), {kind: 'stop', units: [name(OLD)], reason: 'removed'})
  })

  it('holds back a crash-looping instance even while it serves', () => {
    const crash = new CrashTracker()
    crash.observe(name(NEW), 0, undefined, 99_000)
    crash.observe(name(NEW), 3, undefined, 99_500)
    assert.deepEqual(planRollout(view(NEW, [unit(NEW)], {[name(NEW)]: {membership: 'in'}}, {crash})), {kind: 'hold', units: [name(NEW)]})
    const retryAt = crash.hold(100_000)
    assert.deepEqual(planRollout(view(NEW, [], {}, {crash})), {kind: 'wait', until: retryAt}, 'waits out the delay')
    assert.equal(planRollout(view(NEW, [], {}, {crash, now: retryAt})).kind, 'start')
  })

  it('is idempotent once the new version serves alone', () => {
    assert.deepEqual(planRollout(view(NEW, [unit(NEW)], {[name(NEW)]: {membership: 'in'}})), {kind: 'none'})
  })

  describe('with replicas', () => {
    const rname = (version: string, replica: number) => `launcho-web-${version}${replica === 0 ? '' : `-${replica}`}.service`
    const runit = (version: string, replica: number): ObservedUnit => ({...unit(version), name: rname(version, replica)})
    const scaled = (version: string, replicas: number, maxSurge = 1): DesiredProcess => ({
      ...desired(version),
      replicas,
      maxSurge,
      units: Array.from({length: replicas}, (_, i) => rname(version, i)),
    })
    const rview = (d: DesiredProcess, units: ObservedUnit[], facts: Record<string, Partial<InstanceFacts>>): ProcessView => ({
      ...view(undefined, units, facts),
      desired: d,
    })
    const serving = (...names: string[]) => Object.fromEntries(names.map((n) => [n, {membership: 'in' as const}]))

    it('starts every replica of a new process at once', () => {
      assert.deepEqual(planRollout(rview(scaled(NEW, 3), [], {})), {kind: 'start', process: scaled(NEW, 3), unit: rname(NEW, 0)})
      const two = [runit(NEW, 0), runit(NEW, 1)]
      const v = rview(scaled(NEW, 3), two, {[rname(NEW, 0)]: {health: 'starting'}, [rname(NEW, 1)]: {health: 'starting'}})
      assert.deepEqual(planRollout(v), {kind: 'start', process: scaled(NEW, 3), unit: rname(NEW, 2)})
    })

    it('rolls: at most maxSurge above the replicas, and an old replica drains only for a serving new one', () => {
      const old = [0, 1, 2].map((i) => runit(OLD, i))
      const oldServing = serving(...old.map((u) => u.name))
      const d = scaled(NEW, 3)
      assert.deepEqual(planRollout(rview(d, old, oldServing)), {kind: 'start', process: d, unit: rname(NEW, 0)})
      const withNew = [...old, runit(NEW, 0)]
      assert.deepEqual(planRollout(rview(d, withNew, {...oldServing, [rname(NEW, 0)]: {health: 'starting'}})), {kind: 'none'}, 'no second surge')
      assert.deepEqual(planRollout(rview(d, withNew, oldServing)), {kind: 'serve', unit: rname(NEW, 0), drain: [rname(OLD, 2)]})
      assert.deepEqual(planRollout(rview(d, withNew, {...oldServing, ...serving(rname(NEW, 0))})), {kind: 'drain', units: [rname(OLD, 2)]})
      const oneDraining = {...oldServing, ...serving(rname(NEW, 0)), [rname(OLD, 2)]: {membership: 'draining' as const, drainSince: 99_000}}
      assert.deepEqual(planRollout(rview(d, withNew, oneDraining)), {kind: 'start', process: d, unit: rname(NEW, 1)})
      const twoSurge = scaled(NEW, 3, 2)
      assert.deepEqual(planRollout(rview(twoSurge, withNew, {...oldServing, [rname(NEW, 0)]: {health: 'starting'}})), {kind: 'start', process: twoSurge, unit: rname(NEW, 1)})
    })

    it('stops the rollout at a failed replica; the old ones keep serving', () => {
      const units = [runit(OLD, 0), runit(OLD, 1), runit(NEW, 0), runit(NEW, 1)]
      const facts = {...serving(rname(OLD, 1), rname(NEW, 0)), [rname(OLD, 0)]: {membership: 'draining' as const, drainSince: 99_000}, [rname(NEW, 1)]: {health: 'failed' as const}}
      const d = scaled(NEW, 2)
      assert.deepEqual(planRollout(rview(d, units, facts)), {kind: 'fail', unit: rname(NEW, 1), version: NEW})
      assert.deepEqual(planRollout({...rview(d, units, facts), failedVersion: NEW}), {kind: 'stop', units: [rname(NEW, 1)], reason: 'rollout-failed'})
      const after = units.filter((u) => u.name !== rname(NEW, 1))
      assert.deepEqual(planRollout({...rview(d, after, facts), failedVersion: NEW}), {kind: 'wait', until: 129_000}, 'a drain under way ends; nothing new starts')
    })

    it('scales without replacing: up starts the missing replicas, down drains the highest', () => {
      const three = [0, 1, 2].map((i) => runit(NEW, i))
      const all = serving(...three.map((u) => u.name))
      assert.deepEqual(planRollout(rview(scaled(NEW, 2), three, all)), {kind: 'drain', units: [rname(NEW, 2)]})
      const drained = {...all, [rname(NEW, 2)]: {membership: 'draining' as const, drainSince: 99_000, activeConnections: 0}}
      assert.deepEqual(planRollout(rview(scaled(NEW, 2), three, drained)), {kind: 'stop', units: [rname(NEW, 2)], reason: 'scaled-down'})
      assert.deepEqual(planRollout(rview(scaled(NEW, 5), three, all)), {kind: 'start', process: scaled(NEW, 5), unit: rname(NEW, 3)})
      assert.deepEqual(planRollout(rview(scaled(NEW, 3), three, all)), {kind: 'none'})
    })

    it('puts a replica whose process died back only once healthy, touching no other', () => {
      const three = [0, 1, 2].map((i) => runit(NEW, i))
      const facts = {...serving(rname(NEW, 0), rname(NEW, 2)), [rname(NEW, 1)]: {health: 'starting' as const}}
      assert.deepEqual(planRollout(rview(scaled(NEW, 3), three, facts)), {kind: 'none'})
      assert.deepEqual(planRollout(rview(scaled(NEW, 3), three, serving(rname(NEW, 0), rname(NEW, 2)))), {kind: 'serve', unit: rname(NEW, 1)})
    })
  })
})
