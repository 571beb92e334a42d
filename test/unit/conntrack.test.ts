/** What forgetting a stopped backend's reset connections runs, and how each answer of conntrack reads. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CommandResult, CommandRunner} from '../../src/lb/command-runner.js'
import {forgetResetArgv, forgetResetConnections} from '../../src/lb/conntrack.js'

const backend = {host: '127.0.0.1', port: 20007}
const answering = (result: CommandResult): CommandRunner => async () => result

describe('forgetResetConnections', () => {
  it('deletes only the CLOSE entries whose reply comes from the backend', () => {
    assert.deepEqual(forgetResetArgv(backend), ['conntrack', '-D', '-p', 'tcp', '--state', 'CLOSE', '--reply-src', '127.0.0.1', '--reply-port-src', '20007'])
  })

  it('reads how many were deleted', async () => {
    const said = 'tcp      6 9 CLOSE src=127.0.0.1 ...\nconntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n'
    assert.deepEqual(await forgetResetConnections(answering({code: 0, stdout: '', stderr: said}), backend), {forgotten: 2})
  })

  it('none to delete is not a failure (conntrack exits 1 then)', async () => {
    const said = 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n'
    assert.deepEqual(await forgetResetConnections(answering({code: 1, stdout: '', stderr: said}), backend), {forgotten: 0})
  })

  it('a missing conntrack is told as such, a refusal with its words', async () => {
    assert.deepEqual(await forgetResetConnections(answering({code: 127, stdout: '', stderr: 'conntrack: not found'}), backend), {missing: 'conntrack is not installed (Debian package conntrack)'})
    const refused = {code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n'}
    assert.deepEqual(await forgetResetConnections(answering(refused), backend), {failed: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted'})
  })
})
