/**
 * Values systemd would refuse at every start (so the start looped) are refused when the target is
 * read, each with the file, line, column and field, as `launcho t set` prints it.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError, formatProblem} from '../../src/errors.js'
import {loadTarget, validateTarget} from '../../src/target/load.js'

/** The problem lines `t set target.yaml` prints for `text` (with `secrets` substituted when given). */
function refusal(text: string, secrets?: Record<string, string>): string[] {
  try {
    if (secrets) loadTarget(text, new Map(Object.entries(secrets)))
    else validateTarget(text)
  } catch (error) {
    assert.ok(error instanceof LaunchoError, String(error))
    assert.equal(error.code, 'invalid_target')
    return error.problems.map((problem) => formatProblem(problem, 'target.yaml'))
  }
  assert.fail('the target was accepted')
}

const process = (lines: string) => `processes:\n  - name: web\n${lines.replace(/^/gm, '    ')}\n`

describe('refused when the target is read', () => {
  it('a relative command[0] with a "/", suggesting the absolute path', () => {
    assert.deepEqual(refusal(process('command: ["./server.sh"]')), [
      'target.yaml:3:15: processes[0].command[0]: command[0] is a relative path (got "./server.sh"): systemd runs only an absolute path or a bare name from its PATH; write its absolute path, or start it from the working directory with ["/bin/sh", "-c", "exec ./server.sh"]',
    ])
    assert.deepEqual(refusal(process('cwd: /srv/web\ncommand: [bin/x, --fast]')), [
      'target.yaml:4:15: processes[0].command[0]: command[0] is a relative path (got "bin/x"): systemd runs only an absolute path or a bare name from its PATH; write "/srv/web/bin/x"',
    ])
  })

  it('an empty command[0]', () => {
    assert.deepEqual(refusal(process('command: [""]')), [
      'target.yaml:3:15: processes[0].command[0]: command[0] must not be empty: it names the program to run, e.g. "node" or "/usr/bin/node"',
    ])
  })

  it('a relative or empty health.command[0]', () => {
    assert.deepEqual(refusal(process('command: [node]\nhealth: {command: ["", "x"]}')), [
      'target.yaml:4:24: processes[0].health.command[0]: health.command[0] must not be empty: it names the program to run, e.g. "node" or "/usr/bin/node"',
    ])
    assert.match(refusal(process('command: [node]\nhealth: {command: [./check]}'))[0]!, /^target\.yaml:4:24: processes\[0\]\.health\.command\[0\]: health\.command\[0\] is a relative path \(got "\.\/check"\)/)
  })

  it('keeps bare names and absolute paths', () => {
    assert.deepEqual(validateTarget(process('command: [node, ./server.js]\nhealth: {command: [/usr/bin/test, -e, ./ready]}')).processes[0]!.command, ['node', './server.js'])
  })

  it('a cwd with ".." parts, suggesting the normalised path', () => {
    assert.deepEqual(refusal(process('command: [node]\ncwd: /srv/../tmp')), [
      'target.yaml:4:10: processes[0].cwd: cwd must be a normalised absolute path (no "." or ".." parts, no "//", no trailing "/"): write "/tmp"',
    ])
  })

  it('a cwd with "//", "/./" or a trailing "/"', () => {
    const lines = ['//srv/web', '/srv/./web', '/srv/web/'].map((cwd) => refusal(process(`command: [node]\ncwd: "${cwd}"`))[0])
    assert.deepEqual(lines, Array(3).fill('target.yaml:4:10: processes[0].cwd: cwd must be a normalised absolute path (no "." or ".." parts, no "//", no trailing "/"): write "/srv/web"'))
    assert.equal(validateTarget(process('command: [node]\ncwd: /')).processes[0]!.cwd, '/')
  })

  it('a uid of 65535, which systemd takes for an invalid id', () => {
    assert.deepEqual(refusal(process('command: [node]\nuid: "65535"')), [
      'target.yaml:4:10: processes[0].uid: uid 65535 is not a valid user id: systemd takes 0-4294967294, except 65535',
    ])
  })

  it('a uid or gid above 4294967294', () => {
    assert.deepEqual(refusal(process('command: [node]\nuid: "99999999999"\ngid: 4294967295')), [
      'target.yaml:4:10: processes[0].uid: uid 99999999999 is not a valid user id: systemd takes 0-4294967294, except 65535',
      'target.yaml:5:10: processes[0].gid: gid 4294967295 is not a valid group id: systemd takes 0-4294967294, except 65535',
    ])
    assert.equal(validateTarget(process('command: [node]\nuid: 4294967294')).processes[0]!.uid, '4294967294')
  })

  it('replicas or maxSurge that are not a whole number from 1 to 100', () => {
    assert.deepEqual(refusal(process('command: [node]\nreplicas: 0')), ['target.yaml:4:15: processes[0].replicas: replicas must be a whole number from 1 to 100'])
    assert.deepEqual(refusal(process('command: [node]\nreplicas: 101')), ['target.yaml:4:15: processes[0].replicas: replicas must be a whole number from 1 to 100'])
    assert.deepEqual(refusal(process('command: [node]\nreplicas: "3"')), ['target.yaml:4:15: processes[0].replicas: replicas must be a whole number from 1 to 100 (got "3")'])
    assert.deepEqual(refusal(process('command: [node]\nmaxSurge: 1.5')), ['target.yaml:4:15: processes[0].maxSurge: maxSurge must be a whole number from 1 to 100'])
    const accepted = validateTarget(process('command: [node]\nreplicas: 100\nmaxSurge: 2')).processes[0]!
    assert.deepEqual([accepted.replicas, accepted.maxSurge], [100, 2])
    assert.equal(validateTarget(process('command: [node]')).processes[0]!.replicas, undefined, 'default: 1, applied in the desired state')
  })

  it('a memoryMax that overflows systemd\'s byte count', () => {
    assert.deepEqual(refusal(process('command: [node]\nmemoryMax: 99999999999T')), [
      'target.yaml:4:16: processes[0].memoryMax: memoryMax must be at most 1024T (1 PiB); leave it out for no limit',
    ])
    assert.equal(validateTarget(process('command: [node]\nmemoryMax: 1024T')).processes[0]!.memoryMax, '1024T')
  })

  it('a resource id shorter than the 8 digits a prefix needs', () => {
    assert.deepEqual(refusal(process('command: [node]\nresources: [{id: ab12, file: b.tar}]')), [
      'target.yaml:4:22: processes[0].resources[0].id: resource ids are 8 to 64 lowercase hex digits: the id `launcho resource up` prints, or a unique prefix of at least 8 of its digits',
    ])
  })
})

describe('control characters in strings that reach a unit', () => {
  const fields: Array<[string, string, string]> = [
    ['cwd', process('command: [node]\ncwd: "/srv\\nNice=7"'), 'target.yaml:4:10: processes[0].cwd: cwd must not contain control characters: found a newline (U+000A)'],
    ['uid', process('command: [node]\nuid: "nobody\\r"'), 'target.yaml:4:10: processes[0].uid: uid must not contain control characters: found a carriage return (U+000D)'],
    ['gid', process('command: [node]\ngid: "nogroup\\x1b"'), 'target.yaml:4:10: processes[0].gid: gid must not contain control characters: found an escape character (U+001B)'],
    ['command items', process('command: [node, "a\\tb"]'), 'target.yaml:3:21: processes[0].command[1]: command items must not contain control characters: found a tab (U+0009)'],
    ['resource file', process('command: [node]\nresources: [{id: abcdef12, file: "b\\x7f"}]'), 'target.yaml:4:38: processes[0].resources[0].file: resource file must not contain control characters: found a DEL character (U+007F)'],
    ['health.path', process('command: [node]\nreceives: [web]\nhealth: {service: web, path: "/ok\\u0085"}') + 'services: [{name: web, on: "127.0.0.1:5000"}]\n', 'target.yaml:5:34: processes[0].health.path: health.path must not contain control characters: found a next-line character (U+0085)'],
    ['health.command items', process('command: [node]\nhealth: {command: [/bin/true, "\\u2028"]}'), 'target.yaml:4:35: processes[0].health.command[1]: health.command items must not contain control characters: found a line separator (U+2028)'],
    ['before, other than newline and tab', process('command: [node]\nbefore: "echo a\\n\\techo b\\r"'), 'target.yaml:4:13: processes[0].before: before must not contain control characters other than newlines and tabs: found a carriage return (U+000D)'],
  ]
  for (const [field, text, expected] of fields) {
    it(`in ${field}`, () => assert.deepEqual(refusal(text), [expected]))
  }

  it('keeps newlines and tabs in before, and any character but NUL in env values', () => {
    const target = validateTarget(process('command: [node]\nbefore: "echo a\\n\\techo b\\n"\nenv: {MULTI: "line 1\\nline 2\\t\\r\\x1b"}'))
    assert.equal(target.processes[0]!.before, 'echo a\n\techo b\n')
    assert.equal(target.processes[0]!.env.MULTI, 'line 1\nline 2\t\r\x1b')
    assert.deepEqual(refusal(process('command: [node]\nenv: {X: "a\\0b"}')), [
      'target.yaml:4:14: processes[0].env.X: env values must not contain a NUL character: found a NUL character (U+0000)',
    ])
  })
})

describe('after substituting secrets', () => {
  const secret = 'hunter2-is-the-value'
  const target = `processes:
  - name: web
    command: ["\${BIN}"]
    cwd: "\${APP_DIR}"
    uid: "\${RUN_AS}"
    before: "\${SCRIPT}"
`
  const lines = refusal(target, {BIN: `./${secret}`, APP_DIR: `/srv/${secret}/../x`, RUN_AS: '65535', SCRIPT: `\r${secret}`})

  it('names the field and the secret, never the value', () => {
    assert.deepEqual(lines, [
      'target.yaml:3:15: processes[0].command[0] (from secret BIN): command[0] is a relative path: systemd runs only an absolute path or a bare name from its PATH',
      'target.yaml:4:10: processes[0].cwd (from secret APP_DIR): cwd must be a normalised absolute path (no "." or ".." parts, no "//", no trailing "/")',
      'target.yaml:5:10: processes[0].uid (from secret RUN_AS): uid is not a valid user id: systemd takes 0-4294967294, except 65535',
      'target.yaml:6:13: processes[0].before (from secret SCRIPT): before must not contain control characters other than newlines and tabs: found a carriage return (U+000D)',
    ])
  })

  it('re-checks control characters that came from a secret', () => {
    assert.deepEqual(refusal(process('command: [node]\ncwd: "/srv/${DIR}"'), {DIR: 'web\nNice=7'}), [
      'target.yaml:4:10: processes[0].cwd (from secret DIR): cwd must not contain control characters: found a newline (U+000A)',
    ])
  })
})
