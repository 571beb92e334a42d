/**
 * The target's sandbox keys: refused with their line when they cannot work, and part of the version
 * only when used, so a target without them keeps every version across the upgrade.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError, formatProblem} from '../../src/errors.js'
import {desiredStateOf} from '../../src/reconcile/desired.js'
import {loadTargetWithTemplate, validateTarget} from '../../src/target/load.js'

function refusal(text: string): string[] {
  try {
    validateTarget(text)
  } catch (error) {
    assert.ok(error instanceof LaunchoError, String(error))
    return error.problems.map((problem) => formatProblem(problem, 'target.yaml'))
  }
  assert.fail('the target was accepted')
}

const process = (lines: string) => `processes:\n  - name: web\n    command: ["node", "server.js"]\n${lines.replace(/^/gm, '    ')}\n`
const key = Buffer.alloc(32, 7)

function versionOf(text: string, defaults?: Parameters<typeof desiredStateOf>[5], secrets = new Map<string, string>()) {
  const loaded = loadTargetWithTemplate(text, secrets)
  return desiredStateOf(loaded.template, loaded.resolved, secrets, new Map(), key, defaults).get('web')!
}

describe('sandbox keys of a target', () => {
  it('refuses an unknown preset, a JIT runtime under memoryDenyWriteExecute, and uid or cwd with dynamicUser', () => {
    assert.deepEqual(refusal(process('sandbox: tight')), ['target.yaml:4:14: processes[0].sandbox: sandbox must be one of none, basic, strict (got "tight")'])
    assert.match(refusal(process('memoryDenyWriteExecute: true'))[0]!, /^target\.yaml:4:29: processes\[0\]\.memoryDenyWriteExecute: node needs writable executable memory for its JIT .*or run node --jitless$/)
    assert.doesNotThrow(() => validateTarget(process('memoryDenyWriteExecute: true').replace('["node", "server.js"]', '["node", "--jitless", "server.js"]')))
    assert.deepEqual(refusal(process('dynamicUser: true\ncwd: /srv/web')), [
      'target.yaml:5:10: processes[0].cwd: cwd cannot be set with dynamicUser: true (systemd allocates the user, and its working directory is launcho\'s); leave out cwd, or dynamicUser',
    ])
    assert.match(refusal(process('dynamicUser: yes'))[0]!, /processes\[0\]\.dynamicUser: dynamicUser must be true or false \(got "yes"\)/)
    assert.match(refusal(process('maxExposure: 11'))[0]!, /processes\[0\]\.maxExposure: maxExposure must be a number from 0 to 10/)
    assert.match(refusal(process('credentials:\n  .hidden: x'))[0]!, /processes\[0\]\.credentials\.\.hidden|credentials\["\.hidden"\]: credential names are/)
  })

  it('keeps the version of a target without them; the effective preset and credentials are part of it', () => {
    const plain = versionOf(process('env: {A: "1"}'))
    assert.equal(versionOf(process('env: {A: "1"}\nsandbox: none')).version, plain.version)
    assert.equal(versionOf(process('env: {A: "1"}\nmaxExposure: 4')).version, plain.version, 'a gate, not a change')
    const strict = versionOf(process('env: {A: "1"}\nsandbox: strict'))
    assert.notEqual(strict.version, plain.version)
    assert.equal(versionOf(process('env: {A: "1"}'), {sandbox: 'strict'}).version, strict.version, "the server's default is the same as saying it")
    const secrets = new Map([['DB', 'one']])
    const withCredential = versionOf(process('env: {A: "1"}\ncredentials: {DB: "${DB}"}'), undefined, secrets)
    assert.notEqual(withCredential.version, plain.version)
    assert.notEqual(versionOf(process('env: {A: "1"}\ncredentials: {DB: "${DB}"}'), undefined, new Map([['DB', 'two']])).version, withCredential.version)
    assert.ok('DB' in withCredential.secretDigests, 'a secret used by a credential is tracked like any other')
  })
})
