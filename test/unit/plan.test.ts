import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CrashTracker} from '../../src/reconcile/crash-policy.js'
import type {DesiredProcess} from '../../src/reconcile/desired.js'
import {planProcess} from '../../src/reconcile/plan.js'
import type {ObservedUnit} from '../../src/systemd/manager.js'

const spec = {name: 'web', command: ['sleep', '1'], env: {}, resources: [], receives: []}
const desired = (version: string): DesiredProcess => ({
  spec,
  template: spec,
  secretDigests: {},
  generation: 0,
  version,
  unit: `launcho-web-${version}.service`,
})

const unit = (version: string, activeState = 'active'): ObservedUnit => ({
  name: `launcho-web-${version}.service`,
  process: 'web',
  version,
  activeState,
  subState: activeState === 'active' ? 'running' : 'start-pre',
  mainPid: 42,
  nRestarts: 0,
  result: 'success',
  execMainCode: 0,
  execMainStatus: 0,
  execMainStartUs: 1,
  stateChangeUs: 0,
  environment: [],
})

describe('planProcess', () => {
  it('starts a missing process', () => {
    assert.deepEqual(planProcess(desired('aaaaaaaa'), [], new CrashTracker(), 0), {kind: 'start', process: desired('aaaaaaaa')})
  })

  it('does nothing when the right version runs (idempotent)', () => {
    assert.deepEqual(planProcess(desired('aaaaaaaa'), [unit('aaaaaaaa')], new CrashTracker(), 0), {kind: 'none'})
  })

  it('starts the new version first and keeps the old one until the new one is active', () => {
    const tracker = new CrashTracker()
    assert.equal(planProcess(desired('bbbbbbbb'), [unit('aaaaaaaa')], tracker, 0).kind, 'start')
    assert.deepEqual(planProcess(desired('bbbbbbbb'), [unit('aaaaaaaa'), unit('bbbbbbbb', 'activating')], tracker, 0), {kind: 'none'})
    assert.deepEqual(planProcess(desired('bbbbbbbb'), [unit('aaaaaaaa'), unit('bbbbbbbb')], tracker, 0), {
      kind: 'stop',
      units: ['launcho-web-aaaaaaaa.service'],
      reason: 'replaced',
    })
  })

  it('stops every unit of a process that left the target', () => {
    assert.deepEqual(planProcess(undefined, [unit('aaaaaaaa'), unit('bbbbbbbb')], new CrashTracker(), 0), {
      kind: 'stop',
      units: ['launcho-web-aaaaaaaa.service', 'launcho-web-bbbbbbbb.service'],
      reason: 'removed',
    })
  })

  it('holds a crash-looping instance back and waits out the delay before starting again', () => {
    const tracker = new CrashTracker()
    tracker.observe('launcho-web-aaaaaaaa.service', 0, undefined, 0)
    tracker.observe('launcho-web-aaaaaaaa.service', 3, undefined, 500)
    assert.deepEqual(planProcess(desired('aaaaaaaa'), [unit('aaaaaaaa', 'activating')], tracker, 500), {
      kind: 'hold',
      unit: 'launcho-web-aaaaaaaa.service',
    })
    const retryAt = tracker.hold(500)
    assert.deepEqual(planProcess(desired('aaaaaaaa'), [], tracker, 600), {kind: 'wait', until: retryAt})
    assert.equal(planProcess(desired('aaaaaaaa'), [], tracker, retryAt).kind, 'start')
  })
})
