/**
 * The per-instance hooks in the unit (ExecStartPost=, ExecStop= with no-env-expand, ports
 * substituted, secrets masked where shown), how long launcho waits for jobs of such units, and how
 * a failed afterStart is told from systemd's ExecStartPostEx facts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import dbus from 'dbus-next'
import {describeAfterStartFailure} from '../../src/reconcile/hook-failure.js'
import {desiredStateOf, maskedArgvOf, unitSpecOf} from '../../src/reconcile/desired.js'
import {execRunsOf, type ExecRun, type StartRuns} from '../../src/systemd/exec-runs.js'
import {unitFileText} from '../../src/systemd/unit-file.js'
import {startJobMs, stopJobMs, toDbusProperties} from '../../src/systemd/unit-spec.js'
import {loadTargetWithTemplate} from '../../src/target/load.js'

const {Variant} = dbus

const run = (over: Partial<ExecRun> = {}): ExecRun => ({path: '/bin/sh', startUs: 2_000, exitUs: 3_000, pid: 7, code: 1, status: 0, ...over})
const runs = (result: string, afterStart: ExecRun[], mainStartUs = 1_000): StartRuns => ({result, mainStartUs, afterStart})

describe('a failed afterStart, from systemd’s structured facts', () => {
  it('names the hook and how it ended', () => {
    assert.equal(describeAfterStartFailure(runs('exit-code', [run({status: 3})]), 300_000), 'afterStart exited 3')
    assert.equal(describeAfterStartFailure(runs('signal', [run({code: 2, status: 9})]), 300_000), 'afterStart was killed by signal 9/KILL')
    assert.equal(describeAfterStartFailure(runs('core-dump', [run({code: 3, status: 11})]), 300_000), 'afterStart was killed by signal 11/SEGV (core dumped)')
    // systemd kills a hook that outlives TimeoutStartSec with SIGTERM.
    assert.equal(describeAfterStartFailure(runs('timeout', [run({code: 2, status: 15})]), 90_000), 'afterStart did not finish within the start timeout (90s)')
  })

  it('says nothing when the hook did not fail this run: it succeeded, still runs, never ran, or ran for an earlier main process', () => {
    assert.equal(describeAfterStartFailure(runs('success', [run({status: 3})]), 1), undefined)
    assert.equal(describeAfterStartFailure(runs('exit-code', [run()]), 1), undefined, 'the main process failed, not the hook')
    assert.equal(describeAfterStartFailure(runs('exit-code', [run({exitUs: 0, code: 0})]), 1), undefined, 'still running')
    assert.equal(describeAfterStartFailure(runs('exit-code', [run({startUs: 0, exitUs: 0, code: 0})]), 1), undefined, 'never ran')
    assert.equal(describeAfterStartFailure(runs('exit-code', [run({status: 3})], 5_000), 1), undefined, 'from before the current main process')
    assert.equal(describeAfterStartFailure(runs('exit-code', []), 1), undefined, 'no hook')
  })

  it('reads ExecStartPostEx entries (a(sasasttttuii))', () => {
    const value = [['/bin/sh', ['/bin/sh', '-c', 'exit 3'], ['no-env-expand'], 10n, 1n, 20n, 2n, 42, 1, 3]]
    assert.deepEqual(execRunsOf(value), [{path: '/bin/sh', startUs: 10, exitUs: 20, pid: 42, code: 1, status: 3}])
    assert.deepEqual(execRunsOf(undefined), [])
  })
})

describe('hooks in the unit', () => {
  const text = `processes:
  - name: web
    command: ["node", "server.js"]
    receives: [web]
    hooks:
      afterStart: ["/usr/bin/curl", "-H", "X-Token: \${TOKEN}", "http://127.0.0.1:$\${SERVICE_PORT_WEB}/warm", "$SERVICE_PORT_WEB"]
      beforeStop: ["/bin/sh", "-c", "kill -QUIT $MAINPID; sleep 5"]
      beforeRollout: ["./migrate"]
services:
  - name: web
    on: "127.0.0.1:5000"
`
  const {template, resolved} = loadTargetWithTemplate(text, new Map([['TOKEN', 'secret-value']]))
  const process = desiredStateOf(template, resolved, new Map([['TOKEN', 'secret-value']]), new Map(), Buffer.alloc(32, 1)).get('web')!
  const place = {workingDirectory: '/srv/web', environmentFile: '/run/web.env', ports: {SERVICE_PORT_WEB: '20001'}}
  const timings = {restartDelayMs: 100, stopTimeoutMs: 10_000, startTimeoutMs: 30_000}

  it('are ExecStartPost= and ExecStop= with no-env-expand, secrets substituted and port references made the instance’s port', () => {
    const spec = unitSpecOf(process, process.unit, place, timings)
    assert.deepEqual(spec.afterStart, ['/usr/bin/curl', '-H', 'X-Token: secret-value', 'http://127.0.0.1:20001/warm', '20001'])
    assert.deepEqual(spec.beforeStop, ['/bin/sh', '-c', 'kill -QUIT $MAINPID; sleep 5'], 'systemd and launcho leave $MAINPID to sh')
    const properties = new Map(toDbusProperties(spec))
    assert.deepEqual(properties.get('ExecStartPostEx'), new Variant('a(sasas)', [['/usr/bin/curl', spec.afterStart, ['no-env-expand']]]))
    assert.deepEqual(properties.get('ExecStopEx'), new Variant('a(sasas)', [['/bin/sh', spec.beforeStop, ['no-env-expand']]]))
    const file = unitFileText(toDbusProperties(spec))
    assert.match(file, /^ExecStartPost=":\/usr\/bin\/curl" "-H" "X-Token: secret-value" "http:\/\/127\.0\.0\.1:20001\/warm" "20001"$/m)
    assert.match(file, /^ExecStop=":\/bin\/sh" "-c" "kill -QUIT \$MAINPID; sleep 5"$/m)
  })

  it('are shown with secrets as written (t render), and beforeRollout is no part of the unit', () => {
    const shown = unitSpecOf({...process, spec: process.template, argv: maskedArgvOf(process.template)}, process.unit, place, timings)
    assert.deepEqual(shown.afterStart, ['/usr/bin/curl', '-H', 'X-Token: ${TOKEN}', 'http://127.0.0.1:20001/warm', '20001'])
    const file = unitFileText(toDbusProperties(shown))
    assert.ok(!file.includes('secret-value'))
    assert.ok(!file.includes('migrate'))
  })

  it('leave a unit without hooks as it was', () => {
    const plain = loadTargetWithTemplate('processes:\n  - name: web\n    command: ["node", "server.js"]\n', new Map())
    const desired = desiredStateOf(plain.template, plain.resolved, new Map(), new Map(), Buffer.alloc(32, 1)).get('web')!
    const names = toDbusProperties(unitSpecOf(desired, desired.unit, place, timings)).map(([name]) => name)
    assert.ok(!names.includes('ExecStartPostEx') && !names.includes('ExecStopEx'))
  })

  it('give each start step and ExecStop its own timeout in launcho’s job waits, as systemd does', () => {
    assert.equal(startJobMs({startTimeoutMs: 1_000}), 1_000)
    assert.equal(startJobMs({startTimeoutMs: 1_000, afterStart: ['/bin/true']}), 2_000)
    assert.equal(startJobMs({startTimeoutMs: 1_000, before: 'true', afterStart: ['/bin/true']}), 3_000)
    assert.equal(stopJobMs(10_000), 20_000, 'beforeStop, then SIGTERM before SIGKILL')
  })
})
