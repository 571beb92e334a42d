import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {describeExitFacts} from '../../src/reconcile/exit-facts.js'

const facts = (code: number, status: number, result: string) => ({code, status, result, at: 0})

describe('exit facts from systemd’s structured properties', () => {
  it('says how a main process ended, by code and status', () => {
    assert.equal(describeExitFacts(facts(1, 0, 'success')), 'exited with status 0')
    assert.equal(describeExitFacts(facts(1, 3, 'exit-code')), 'exited with status 3')
    assert.equal(describeExitFacts(facts(2, 9, 'signal')), 'killed by signal 9/KILL')
    assert.equal(describeExitFacts(facts(3, 11, 'core-dump')), 'killed by signal 11/SEGV (core dumped)')
    assert.equal(describeExitFacts(facts(2, 9, 'oom-kill')), 'out of memory: the OOM killer ended it at its memoryMax (killed by signal 9/KILL)')
  })

  it('leaves systemd’s own spawn failures (200–243) to the journal, which names the step', () => {
    assert.equal(describeExitFacts(facts(1, 200, 'exit-code')), undefined)
    assert.equal(describeExitFacts(facts(1, 203, 'exit-code')), undefined)
    assert.equal(describeExitFacts(facts(0, 0, 'success')), undefined)
  })
})
