import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CrashTracker} from '../../src/reconcile/crash-policy.js'
import {replicaUnits, type DesiredProcess} from '../../src/reconcile/desired.js'
import {buildStatus, type StatusSources} from '../../src/reconcile/status.js'
import type {ObservedUnit} from '../../src/systemd/manager.js'
import {observedUnit} from '../helpers/observed-unit.js'

const spec = {name: 'web', command: ['node', 'server.js'], env: {}, resources: [], receives: ['web'], replicas: 3}
const desired = (version: string): DesiredProcess => ({
  spec,
  template: spec,
  secretDigests: {},
  generation: 0,
  version,
  ...replicaUnits(spec, version),
  argv: {command: spec.command.map((word) => [word])},
})
const unit = (name: string, version: string): ObservedUnit => observedUnit(version, {name})

function sources(version: string): StatusSources {
  const tracker = new CrashTracker()
  return {
    desired: new Map([['web', desired(version)]]),
    tracker: () => tracker,
    facts: (u) => ({phase: u.version === version ? 'serving' : 'draining', health: 'healthy', membership: u.version === version ? 'in' : 'draining'}),
    ports: () => ({web: 20_000}),
    lastCheck: () => undefined,
    failedRollouts: new Map(),
  }
}

describe('status with replicas', () => {
  const NEW = 'bbbbbbbb'
  const replicas = desired(NEW).units.map((name) => unit(name, NEW))

  it('shows every replica with its index and phase, and all of them serving is no rollout', () => {
    const [web] = buildStatus(sources(NEW), replicas, 10_000)
    assert.equal(web!.state, 'running')
    assert.deepEqual(web!.instances.map((i) => [i.unit, i.replica, i.phase, i.current]), [
      [`launcho-web-${NEW}.service`, 0, 'serving', true],
      [`launcho-web-${NEW}-1.service`, 1, 'serving', true],
      [`launcho-web-${NEW}-2.service`, 2, 'serving', true],
    ])
  })

  it('is rolling out while an old replica runs or a replica is missing', () => {
    assert.equal(buildStatus(sources(NEW), [...replicas, unit('launcho-web-aaaaaaaa-2.service', 'aaaaaaaa')], 10_000)[0]!.state, 'rolling-out')
    assert.equal(buildStatus(sources(NEW), replicas.slice(0, 2), 10_000)[0]!.state, 'rolling-out')
  })
})

describe('status of a process with a terminal problem', () => {
  const VERSION = 'cccccccc'
  const withProblem = (): StatusSources => ({...sources(VERSION), problem: (name) => (name === 'web' ? 'beforeRollout hook exited 1' : undefined)})

  it('says why it cannot run, as failing to start while none of its replicas runs', () => {
    const [web] = buildStatus(withProblem(), [], 10_000)
    assert.equal(web!.state, 'failing-to-start')
    assert.equal(web!.problem, 'beforeRollout hook exited 1')
  })

  it('keeps the state of a replica that runs, with the problem beside it', () => {
    const [web] = buildStatus(withProblem(), desired(VERSION).units.map((name) => unit(name, VERSION)), 10_000)
    assert.equal(web!.state, 'running')
    assert.equal(web!.problem, 'beforeRollout hook exited 1')
  })
})
