/**
 * A process's hooks and the target's named commands: accepted as argvs, refused with their line
 * when malformed or naming no process, substituted like a command, and in the version only where
 * they change the unit (afterStart, beforeStop), never for beforeRollout.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError, formatProblem} from '../../src/errors.js'
import {desiredStateOf} from '../../src/reconcile/desired.js'
import {loadTargetWithTemplate, validateTarget} from '../../src/target/load.js'

function refusal(text: string, secrets = new Map<string, string>()): string[] {
  try {
    loadTargetWithTemplate(text, secrets)
  } catch (error) {
    assert.ok(error instanceof LaunchoError, String(error))
    return error.problems.map((problem) => formatProblem(problem, 'target.yaml'))
  }
  assert.fail('the target was accepted')
}

const web = (lines = '') => `processes:\n  - name: web\n    command: ["node", "server.js"]\n${lines.replace(/^/gm, '    ')}\n`
const key = Buffer.alloc(32, 7)

function versionOf(text: string) {
  const loaded = loadTargetWithTemplate(text, new Map())
  return desiredStateOf(loaded.template, loaded.resolved, new Map(), new Map(), key).get('web')!.version
}

describe('hooks of a process', () => {
  it('are argvs, kept as written and substituted like the command', () => {
    const text = web('hooks:\n  beforeRollout: ["./manage", "migrate", "${DB}"]\n  afterStart: ["/bin/true"]\n  beforeStop: ["/bin/sh", "-c", "echo bye"]')
    const {template, resolved} = loadTargetWithTemplate(text, new Map([['DB', 'postgres://x']]))
    assert.deepEqual(template.processes[0]!.hooks, {beforeRollout: ['./manage', 'migrate', '${DB}'], afterStart: ['/bin/true'], beforeStop: ['/bin/sh', '-c', 'echo bye']})
    assert.deepEqual(resolved.processes[0]!.hooks!.beforeRollout, ['./manage', 'migrate', 'postgres://x'])
    assert.equal(validateTarget(web('hooks: {}')).processes[0]!.hooks, undefined)
  })

  it('refuses an unknown hook, a string instead of an argv, an empty argv and a missing secret, each with its line', () => {
    assert.deepEqual(refusal(web('hooks:\n  afterstart: ["/bin/true"]')), ['target.yaml:5:7: processes[0].hooks.afterstart: unknown key "afterstart" (did you mean "afterStart"?)'])
    assert.match(refusal(web('hooks:\n  beforeStop: "echo bye"'))[0]!, /^target\.yaml:5:19: processes\[0\]\.hooks\.beforeStop: hooks\.beforeStop must be a list, e.g\. \["\.\/migrate", "--up"\]/)
    assert.match(refusal(web('hooks:\n  beforeRollout: []'))[0]!, /^target\.yaml:5:\d+: processes\[0\]\.hooks\.beforeRollout: hooks\.beforeRollout must not be empty/)
    assert.match(refusal(web('hooks:\n  beforeRollout: ["./m", "${NOPE}"]'))[0]!, /^target\.yaml:5:\d+: processes\[0\]\.hooks\.beforeRollout\[1\].*secret "NOPE" is not set/)
  })

  it('change the version when they change the unit (afterStart, beforeStop), not for beforeRollout', () => {
    const plain = versionOf(web())
    assert.notEqual(versionOf(web('hooks:\n  afterStart: ["/bin/true"]')), plain)
    assert.notEqual(versionOf(web('hooks:\n  beforeStop: ["/bin/true"]')), plain)
    assert.equal(versionOf(web('hooks:\n  beforeRollout: ["./migrate"]')), plain)
  })
})

describe('named commands', () => {
  it('name a process of the target and an argv', () => {
    const text = `${web()}commands:\n  migrate: {process: web, command: ["./manage", "migrate"]}\n`
    assert.deepEqual(validateTarget(text).commands, {migrate: {process: 'web', command: ['./manage', 'migrate']}})
    assert.equal(validateTarget(`${web()}commands: {}\n`).commands, undefined)
    assert.equal(versionOf(text), versionOf(web()), 'a named command changes no process')
  })

  it('refuses a command of an unknown process, a bad name and a missing command, each with its line', () => {
    assert.deepEqual(refusal(`${web()}commands:\n  migrate: {process: db, command: ["./m"]}\n`), [
      'target.yaml:6:22: commands.migrate.process: unknown process "db" (processes: web)',
    ])
    assert.match(refusal(`${web()}commands:\n  Migrate_All: {process: web, command: ["./m"]}\n`)[0]!, /^target\.yaml:6:3: commands\.Migrate_All: command names are lowercase letters/)
    assert.match(refusal(`${web()}commands:\n  migrate: {process: web}\n`)[0]!, /^target\.yaml:6:\d+: commands\.migrate\.command: command is required/)
    assert.match(refusal(`${web()}commands:\n  migrate: {process: web, command: ["./m"], user: root}\n`)[0]!, /unknown key "user" \(allowed: process, command\)/)
  })
})
