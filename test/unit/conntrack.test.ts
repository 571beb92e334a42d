/** What forgetting stopped backends' reset connections runs, how each answer of conntrack reads, and how a burst of stops shares runs. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CommandResult, CommandRunner} from '../../src/lb/command-runner.js'
import {forgetResetArgv, forgetResetConnections, ResetConnectionForgetter} from '../../src/lb/conntrack.js'

const answering = (result: CommandResult): CommandRunner => async () => result
const deleted = (n: number): CommandResult => ({code: n > 0 ? 0 : 1, stdout: '', stderr: `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been deleted.\n`})

describe('forgetResetConnections', () => {
  it('deletes only the CLOSE entries whose reply comes from the backends host', () => {
    assert.deepEqual(forgetResetArgv('127.0.0.1'), ['conntrack', '-D', '-p', 'tcp', '--state', 'CLOSE', '--reply-src', '127.0.0.1'])
  })

  it('reads how many were deleted; none is not a failure (conntrack exits 1 then)', async () => {
    assert.deepEqual(await forgetResetConnections(answering(deleted(2)), '127.0.0.1'), {forgotten: 2})
    assert.deepEqual(await forgetResetConnections(answering(deleted(0)), '127.0.0.1'), {forgotten: 0})
  })

  it('a missing conntrack is told as such, a refusal with its words', async () => {
    assert.deepEqual(await forgetResetConnections(answering({code: 127, stdout: '', stderr: 'conntrack: not found'}), '127.0.0.1'), {missing: 'conntrack is not installed (Debian package conntrack)'})
    const refused = {code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n'}
    assert.deepEqual(await forgetResetConnections(answering(refused), '127.0.0.1'), {failed: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted'})
  })
})

describe('ResetConnectionForgetter', () => {
  it('a burst of stops shares one run; stops during a run share the next; each is served by a run begun after it', async () => {
    const runs: Array<() => void> = []
    const runner: CommandRunner = () => new Promise((resolve) => runs.push(() => resolve(deleted(1))))
    const forgetter = new ResetConnectionForgetter(runner)
    const first = Array.from({length: 5}, (_, i) => forgetter.forget({host: '127.0.0.1', port: 20_000 + i}))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(runs.length, 1, 'one run for the burst')
    const during = Array.from({length: 3}, (_, i) => forgetter.forget({host: '127.0.0.1', port: 20_100 + i}))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(runs.length, 1, 'the next run waits for the one under way')
    runs[0]!()
    assert.deepEqual(await Promise.all(first), Array(5).fill({forgotten: 1}))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(runs.length, 2, 'one more run for the stops that came during the first')
    runs[1]!()
    assert.deepEqual(await Promise.all(during), Array(3).fill({forgotten: 1}))
  })
})
