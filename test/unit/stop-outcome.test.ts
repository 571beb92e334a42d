/**
 * What a stop says about an instance's beforeStop hook, from what systemd signalled while it
 * stopped (the Service's Result before and after, whether a control process ran, how the main
 * process ended). Each row is a stop seen against the sandbox systemd (252).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {beforeStopFailure, killedAtStop} from '../../src/reconcile/stop-outcome.js'
import type {StopOutcome} from '../../src/systemd/manager.js'

const KILLED = 2
const EXITED = 1
const stop = (outcome: Partial<StopOutcome>): StopOutcome => ({job: 'done', resultBefore: 'success', result: 'success', controlRan: true, execMainCode: KILLED, execMainStatus: 15, ...outcome})

describe('beforeStopFailure', () => {
  const rows: Array<[string, StopOutcome, string | undefined]> = [
    ['a hook that exits 0, the process ends by SIGTERM', stop({}), undefined],
    ['a hook that exits 3', stop({result: 'exit-code'}), 'failed (exit-code)'],
    ['a hook killed by a signal', stop({result: 'signal'}), 'failed (signal)'],
    ['a hook that hangs until the stop timeout', stop({result: 'timeout'}), 'did not finish within the stop timeout (2 s) and was cut off'],
    ['a process that ignored SIGTERM until SIGKILL', stop({result: 'timeout', execMainStatus: 9}), 'or the process did not finish within the stop timeout (2 s); systemd killed what was left'],
    ['a good hook, then a process that exits 1 on SIGTERM', stop({result: 'exit-code', execMainCode: EXITED, execMainStatus: 1}), undefined],
    ['no hook (no control process ran)', stop({controlRan: false, result: 'exit-code'}), undefined],
    ['a unit that had crashed before its stop keeps that Result', stop({resultBefore: 'exit-code', result: 'exit-code'}), undefined],
    ['a unit that was gone before the stop', {job: 'done', controlRan: false}, undefined],
  ]
  for (const [what, outcome, expected] of rows) {
    it(what, () => assert.equal(beforeStopFailure(outcome, 2_000), expected))
  }
})

describe('killedAtStop', () => {
  const plain = (outcome: Partial<StopOutcome>): StopOutcome => stop({controlRan: false, ...outcome})
  const killed = 'did not exit within the stop timeout (2 s) after SIGTERM; systemd killed it (SIGKILL)'
  const rows: Array<[string, StopOutcome, string | undefined]> = [
    ['a process that ends on SIGTERM', plain({}), undefined],
    ['a process that exits 1 on SIGTERM', plain({result: 'exit-code', execMainCode: EXITED, execMainStatus: 1}), undefined],
    ['a process that ignored SIGTERM until SIGKILL', plain({result: 'timeout', execMainStatus: 9}), killed],
    ['a timeout with a beforeStop (told as the hook\'s)', stop({result: 'timeout', execMainStatus: 9}), undefined],
    ['a unit that had crashed before its stop', plain({resultBefore: 'exit-code', result: 'exit-code'}), undefined],
    ['a unit that was gone before the stop', {job: 'done', controlRan: false}, undefined],
  ]
  for (const [what, outcome, expected] of rows) {
    it(what, () => assert.equal(killedAtStop(outcome, 2_000), expected))
  }
})
