import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {summarizeFailure, type JournalEntry} from '../../src/logs/journal.js'
import {withMemoryHint} from '../../src/reconcile/failure-reason.js'
import {validateTarget} from '../../src/target/load.js'
import {memorySizeBytes} from '../../src/target/memory-size.js'
import {versionOf} from '../../src/target/version.js'

/** Any fixed key: versions are keyed per server (store/version-key.ts). */
const key = Buffer.alloc(32, 7)

const target = (memoryMax: string) => `processes:\n  - name: web\n    command: ["node"]\n    memoryMax: ${memoryMax}\n`

function problem(text: string): string {
  try {
    validateTarget(text)
  } catch (error) {
    assert.ok(error instanceof LaunchoError)
    const [first] = error.problems
    return `${first!.line}:${first!.field}: ${first!.message}`
  }
  assert.fail('accepted')
}

describe('memoryMax', () => {
  it('reads sizes in binary units, as systemd does', () => {
    assert.equal(memorySizeBytes('256M'), 256n * 1024n * 1024n)
    assert.equal(memorySizeBytes('1.5G'), 1536n * 1024n * 1024n)
    assert.equal(memorySizeBytes('2T'), 2n * 1024n ** 4n)
    assert.equal(memorySizeBytes('256'), undefined)
    assert.equal(memorySizeBytes('256MB'), undefined)
  })

  it('is kept in the target and changes the version', () => {
    const spec = validateTarget(target('512M')).processes[0]!
    assert.equal(spec.memoryMax, '512M')
    const without = validateTarget('processes:\n  - name: web\n    command: ["node"]\n').processes[0]!
    assert.notEqual(versionOf(spec, key), versionOf(without, key))
    assert.notEqual(versionOf(spec, key), versionOf({...spec, memoryMax: '1G'}, key))
  })

  it('refuses a bare number, a wrong unit and a size too small to start, naming line and field', () => {
    assert.equal(problem(target('512')), '4:processes[0].memoryMax: memoryMax needs a unit: write "512M" for 512 MiB (K, M, G and T are powers of 1024)')
    assert.equal(problem(target('1GB')), '4:processes[0].memoryMax: memoryMax must be a size like "256M" or "1.5G" (K, M, G and T are powers of 1024)')
    assert.equal(problem(target('1M')), '4:processes[0].memoryMax: memoryMax must be at least 4M')
    assert.match(problem(target('[1]')), /memoryMax must be a size like "256M"/)
  })
})

describe('why a run ended', () => {
  const unit = 'launcho-web-1a2b3c4d.service'
  const entries = (...messages: string[]): JournalEntry[] => messages.map((message, i) => ({timeUs: i, message: `${unit}: ${message}`, fields: {}}))

  it('names an OOM kill that systemd saw (cgroup v2)', () => {
    const reason = summarizeFailure(unit, entries(
      'A process of this unit has been killed by the OOM killer.',
      'Main process exited, code=killed, status=9/KILL',
      "Failed with result 'oom-kill'.",
      'Scheduled restart job, restart counter is at 1.',
    ))
    assert.equal(reason, 'out of memory: the OOM killer ended it at its memoryMax (killed by signal 9/KILL)')
  })

  it('does not blame memory for a later, different exit', () => {
    const reason = summarizeFailure(unit, entries(
      'Main process exited, code=killed, status=9/KILL',
      "Failed with result 'oom-kill'.",
      'Main process exited, code=exited, status=3/NOTIMPLEMENTED',
      "Failed with result 'exit-code'.",
    ))
    assert.equal(reason, 'exited with status 3')
  })

  it('says a clean exit was status 0, but not mistake a stop for one', () => {
    assert.equal(summarizeFailure(unit, entries('Deactivated successfully.', 'Consumed 12ms CPU time.', 'Scheduled restart job, restart counter is at 2.')), 'exited with status 0')
    const stoppedAfterFailure = entries(
      'Failed at step USER spawning sleep: No such process',
      'Main process exited, code=exited, status=217/USER',
      "Failed with result 'exit-code'.",
      'Stopping launcho-web-1a2b3c4d.service...',
      'Deactivated successfully.',
      'Stopped launcho-web-1a2b3c4d.service.',
    )
    assert.equal(summarizeFailure(unit, stoppedAfterFailure), 'exited with status 217/USER: Failed at step USER spawning sleep: No such process')
  })

  it('on cgroup v1, suspects the memory limit only for a SIGKILL of a limited process', () => {
    assert.equal(withMemoryHint('killed by signal 9/KILL', '64M'), "killed by signal 9/KILL: probably out of memory at its memoryMax of 64M (this host's cgroups do not report OOM kills)")
    assert.equal(withMemoryHint('killed by signal 9/KILL', undefined), 'killed by signal 9/KILL')
    assert.equal(withMemoryHint('killed by signal 15/TERM', '64M'), 'killed by signal 15/TERM')
  })
})
