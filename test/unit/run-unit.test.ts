import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {runExitOf} from '../../src/reconcile/run-exit.js'
import {beforeRolloutUnitNameOf, isBeforeRolloutUnit, isRunUnit, runPropertiesOf, runUnitNameOf} from '../../src/systemd/run-unit.js'
import {parseUnitName, replicaOf} from '../../src/systemd/unit-name.js'
import {nameProblem} from '../../src/target/rules.js'
import {UINT64_MAX} from '../../src/systemd/unit-limits.js'
import type {UnitSpec} from '../../src/systemd/unit-spec.js'

const spec: UnitSpec = {
  name: 'launcho-run-web-1a2b3c4d.service',
  description: 'launcho run of web',
  command: ['sh', '-c', 'echo hi'],
  before: 'echo before',
  env: {},
  environmentFile: '/state/environments/launcho-run-web-1a2b3c4d.env',
  user: 'nobody',
  workingDirectory: '/state/instances/launcho-run-web-1a2b3c4d',
  syslogIdentifier: 'web',
  journalFields: {LAUNCHO_RUN: 'web'},
  restartDelayMs: 1000,
  stopTimeoutMs: 10_000,
  startTimeoutMs: 90_000,
}

describe('run units', () => {
  it('are never taken for an instance, whatever the process is called', () => {
    const unit = runUnitNameOf('web')
    assert.match(unit, /^launcho-run-web-[0-9a-f]{8}\.service$/)
    assert.ok(isRunUnit(unit))
    assert.equal(parseUnitName(unit), undefined)
    assert.equal(replicaOf(unit), undefined)
    const hook = beforeRolloutUnitNameOf('web', 'deadbeef')
    assert.equal(hook, 'launcho-run-web-before-rollout-deadbeef.service')
    assert.ok(isBeforeRolloutUnit(hook))
    assert.equal(parseUnitName(hook), undefined)
    assert.ok(!isBeforeRolloutUnit(unit))
    // A process called "run" keeps its instances (only run-* names are refused).
    assert.deepEqual(parseUnitName('launcho-run-1a2b3c4d.service'), {process: 'run', version: '1a2b3c4d'})
    assert.deepEqual(parseUnitName('launcho-run-1a2b3c4d-3.service'), {process: 'run', version: '1a2b3c4d'})
    assert.match(nameProblem('process', 'run-web')!, /cannot start with "run-"/)
    assert.equal(nameProblem('process', 'run'), undefined)
    assert.equal(nameProblem('service', 'run-web'), undefined)
  })

  it('are oneshots with Restart=no, output to the FIFOs given, bounded only when asked', () => {
    const props = (p: ReturnType<typeof runPropertiesOf>) => new Map(p.map(([name, variant]) => [name, variant.value as unknown]))
    const attached = props(runPropertiesOf(spec, {LAUNCHO_SERVER: 's'}, {stdoutFile: '/e/x.stdout', stderrFile: '/e/x.stderr'}))
    assert.equal(attached.get('Type'), 'oneshot')
    assert.equal(attached.get('Restart'), 'no')
    assert.equal(attached.get('StandardOutputFile'), '/e/x.stdout')
    assert.equal(attached.get('StandardErrorFile'), '/e/x.stderr')
    assert.equal(attached.get('StandardOutput'), undefined)
    assert.equal(attached.get('TimeoutStartUSec'), UINT64_MAX)
    assert.equal(attached.get('User'), 'nobody')
    assert.ok(attached.has('ExecStartPreEx'))
    assert.equal(attached.get('CollectMode'), undefined)
    const detached = props(runPropertiesOf(spec, {}, {timeoutMs: 1500}))
    assert.equal(detached.get('StandardOutput'), 'journal')
    assert.equal(detached.get('TimeoutStartUSec'), 1_500_000n)
  })

  it("end with the command's status, a signal, a timeout, or systemd's reason", async () => {
    const reason = async () => 'Failed at step EXEC spawning /no/such: No such file or directory'
    assert.deepEqual(await runExitOf({job: 'done'}, reason), {code: 0})
    assert.deepEqual(await runExitOf({job: 'failed', result: 'exit-code', execMainCode: 1, execMainStatus: 3}, reason), {code: 3})
    assert.deepEqual(await runExitOf({job: 'failed', result: 'signal', execMainCode: 2, execMainStatus: 9}, reason), {signal: 9})
    assert.deepEqual(await runExitOf({job: 'failed', result: 'timeout', execMainCode: 2, execMainStatus: 15}, reason), {timedOut: true})
    assert.deepEqual(await runExitOf({job: 'failed', result: 'exit-code', execMainCode: 1, execMainStatus: 203}, reason), {code: 127, reason: await reason()})
  })
})
