import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError, type Problem} from '../../src/errors.js'
import {defaultTargetText} from '../../src/target/default-target.js'
import {loadTarget, validateTarget} from '../../src/target/load.js'

/** The error `fn` throws, checked to be a LaunchoError with `code`. */
function failure(fn: () => unknown, code = 'invalid_target'): LaunchoError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof LaunchoError, `expected a LaunchoError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail('expected an error')
}

const problemsOf = (text: string): Problem[] => failure(() => validateTarget(text)).problems

const only = (problems: Problem[]): Problem => {
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2))
  return problems[0]
}

const example = `processes:
  - name: "main-server"
    resources:
      - id: "\${BUNDLE_RESOURCE_ID}"
        file: "bundle.tar.bz2"
    before: |
      tar -xf bundle.tar.bz2
    command: ["node", "server.js"]
    env: {NODE_ENV: production}
    uid: "www-data"
    receives:
      - "traffic"
    health:
      service: "traffic"
      path: "/health"

services:
  - name: "traffic"
    on: "127.0.0.1:5000"
`

describe('validateTarget', () => {
  it('reads the README example, placeholders kept', () => {
    assert.deepEqual(validateTarget(example), {
      processes: [
        {
          name: 'main-server',
          command: ['node', 'server.js'],
          env: {NODE_ENV: 'production'},
          uid: 'www-data',
          before: 'tar -xf bundle.tar.bz2\n',
          resources: [{id: '${BUNDLE_RESOURCE_ID}', file: 'bundle.tar.bz2'}],
          receives: ['traffic'],
          health: {service: 'traffic', path: '/health'},
        },
      ],
      services: [{name: 'traffic', on: '127.0.0.1:5000'}],
    })
  })

  it('takes an empty document, and empty processes/services lists, as an empty target', () => {
    const empty = {processes: [], services: []}
    assert.deepEqual(validateTarget(''), empty)
    assert.deepEqual(validateTarget('# nothing yet\n'), empty)
    assert.deepEqual(validateTarget('processes:\n  # - name: "web"\nservices:\n'), empty)
  })

  it('reports a YAML syntax error at its line', () => {
    const error = failure(() => validateTarget('processes:\n  - name: "web"\n    command: node: server.js\n'))
    assert.deepEqual(only(error.problems), {line: 3, column: 14, message: 'Nested mappings are not allowed in compact mappings'})
    assert.equal(error.message, 'invalid target')
  })

  it('rejects unknown keys, naming the key and suggesting the right one', () => {
    const top = only(problemsOf('processes: []\nservice: []\n'))
    assert.deepEqual(top, {line: 2, column: 1, field: 'service', message: 'unknown key "service" (did you mean "services"?)'})

    const inProcess = only(problemsOf('processes:\n  - name: web\n    comand: [node]\n    command: [node]\n'))
    assert.deepEqual(inProcess, {
      line: 3,
      column: 5,
      field: 'processes[0].comand',
      message: 'unknown key "comand" (did you mean "command"?)',
    })

    const nested = only(problemsOf('processes:\n  - name: web\n    command: [node]\n    resources: [{id: abcdef12, file: a, mode: 1}]\n'))
    assert.equal(nested.field, 'processes[0].resources[0].mode')
    assert.equal(nested.line, 4)
    assert.match(nested.message, /unknown key "mode" \(allowed: id, file\)/)
  })

  it('explains the name rule and suggests a valid name', () => {
    const problem = only(problemsOf('processes:\n  - name: "main_server"\n    command: ["node"]\n'))
    assert.deepEqual(problem, {
      line: 2,
      column: 11,
      field: 'processes[0].name',
      message: 'process names are lowercase letters, digits and "-" (got "main_server"; try "main-server")',
    })
    const long = only(problemsOf(`services:\n  - {name: ${'a'.repeat(64)}, on: "127.0.0.1:80"}\n`))
    assert.match(long.message, /^service names are at most 63 characters \(got 64; try "a{63}"\)$/)
  })

  it('rejects duplicate process and service names at the second one', () => {
    const problems = problemsOf(
      'processes:\n  - {name: web, command: [a]}\n  - {name: web, command: [b]}\nservices:\n  - {name: s, on: "127.0.0.1:1"}\n  - {name: s, on: "127.0.0.1:2"}\n',
    )
    assert.deepEqual(
      problems.map((p) => [p.line, p.field, p.message]),
      [
        [3, 'processes[1].name', 'process name "web" is already used by processes[0]'],
        [6, 'services[1].name', 'service name "s" is already used by services[0]'],
      ],
    )
  })

  it('requires receives to name declared services and health to use a received one', () => {
    const problems = problemsOf(`processes:
  - name: web
    command: [node]
    receives: [trafic]
    health: {service: admin, path: /health}
services:
  - {name: traffic, on: "127.0.0.1:5000"}
  - {name: admin, on: "127.0.0.1:5001"}
`)
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.field, p.message]),
      [
        [4, 16, 'processes[0].receives[0]', 'unknown service "trafic" (declared: traffic, admin)'],
        [5, 23, 'processes[0].health.service', `health.service "admin" is not in this process's receives; add it to receives`],
      ],
    )
  })

  it('explains that command is a list', () => {
    const problem = only(problemsOf('processes:\n  - name: web\n    command: node server.js\n'))
    assert.equal(problem.field, 'processes[0].command')
    assert.equal(problem.line, 3)
    assert.equal(problem.message, 'command must be a list, e.g. ["node", "server.js"]')
    assert.match(only(problemsOf('processes:\n  - name: web\n    command: []\n')).message, /command must not be empty/)
  })

  it('points a missing required key at its map', () => {
    const problem = only(problemsOf('processes:\n  - command: [node]\n'))
    assert.deepEqual(problem, {line: 2, column: 5, field: 'processes[0].name', message: 'process name is required'})
  })

  it('reports every problem at once, in line order', () => {
    const problems = problemsOf(`processes:
  - name: Web
    command: node
    cwd: relative/dir
    health: {service: web, path: health}
services:
  - {name: web, on: "localhost"}
extra: 1
`)
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.field}`),
      [
        '2:processes[0].name',
        '3:processes[0].command',
        '4:processes[0].cwd',
        '5:processes[0].health.service',
        '5:processes[0].health.path',
        '7:services[0].on',
        '8:extra',
      ],
    )
  })

  it('turns env numbers and booleans into strings as written, and uid numbers into decimal', () => {
    const target = validateTarget(`processes:
  - name: web
    command: [node]
    env: {PORT: 8080, ZIP: 0123, RATIO: 1.50, DEBUG: true}
    uid: 1000
    gid: 0o17
`)
    assert.deepEqual(target.processes[0].env, {PORT: '8080', ZIP: '0123', RATIO: '1.50', DEBUG: 'true'})
    assert.equal(target.processes[0].uid, '1000')
    assert.equal(target.processes[0].gid, '15')
  })

  it('checks env names and values', () => {
    const problems = problemsOf('processes:\n  - name: web\n    command: [node]\n    env:\n      1X: a\n      EMPTY:\n')
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.field, p.message]),
      [
        [5, 7, 'processes[0].env["1X"]', 'env names are letters, digits and "_", not starting with a digit (got "1X")'],
        [6, 13, 'processes[0].env.EMPTY', 'env values must be a string (got nothing; write "" for an empty value)'],
      ],
    )
  })

  it('checks addresses, paths and file names', () => {
    const problems = problemsOf(`processes:
  - name: web
    command: [node]
    resources: [{id: abcdef12, file: ../etc/passwd}]
    receives: [a]
    health: {service: a, path: "/ok"}
services:
  - {name: a, on: "::1:5000"}
  - {name: b, on: "127.0.0.1:70000"}
  - {name: c, on: "[::1]:5000"}
  - {name: d, on: "db.internal:5432"}
`)
    assert.deepEqual(
      problems.map((p) => p.field),
      ['processes[0].resources[0].file', 'services[0].on', 'services[1].on'],
    )
    assert.match(problems[1].message, /put IPv6 addresses in brackets/)
    assert.match(problems[2].message, /port must be 1-65535 \(got 70000\)/)
  })

  it('rejects a malformed placeholder, which $${ escapes', () => {
    const problem = only(problemsOf('processes:\n  - name: web\n    command: [sh]\n    before: "echo ${HOME:-/root}"\n'))
    assert.equal(problem.field, 'processes[0].before')
    assert.match(problem.message, /^"\$\{HOME:-\/root\}" is not a valid placeholder/)
    const escaped = validateTarget('processes:\n  - name: web\n    command: [sh]\n    before: "echo $${HOME:-/root}"\n')
    assert.equal(escaped.processes[0].before, 'echo $${HOME:-/root}')
  })

  it('rejects an alias bomb cleanly', () => {
    const bomb = [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'processes: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
    ].join('\n')
    const started = Date.now()
    const problem = only(problemsOf(bomb))
    assert.match(problem.message, /too many aliases/)
    assert.equal(problem.line, 2)
    assert.ok(Date.now() - started < 2000)
  })

  it('rejects hostile or oversized documents without crashing', () => {
    assert.match(only(problemsOf('['.repeat(5_000))).message, /nested more than 64 levels/)
    assert.match(only(problemsOf('- '.repeat(5_000))).message, /nested more than 64 levels/)
    assert.match(only(problemsOf(`# ${'x'.repeat(1024 * 1024)}\n`)).message, /limit is 1 MiB/)
    assert.match(only(problemsOf('processes: []\n---\nservices: []\n')).message, /single YAML document/)
    assert.match(only(problemsOf('processes: [*nope]\n')).message, /alias "\*nope" has no anchor/)
    assert.match(only(problemsOf('- web\n')).message, /the target must be a map \(got a list\)/)
  })
})

describe('loadTarget', () => {
  it('re-checks formats after substitution without showing the secret', () => {
    const text = 'processes:\n  - name: web\n    command: [node]\n    cwd: "${APP_DIR}"\n'
    assert.equal(validateTarget(text).processes[0].cwd, '${APP_DIR}')
    assert.equal(loadTarget(text, new Map([['APP_DIR', '/srv/web']])).processes[0].cwd, '/srv/web')
    const error = failure(() => loadTarget(text, new Map([['APP_DIR', 'hunter2/web']])))
    assert.deepEqual(only(error.problems), {
      line: 4,
      column: 10,
      field: 'processes[0].cwd (from secret APP_DIR)',
      message: 'cwd must be an absolute path, e.g. "/srv/web"',
    })
    assert.doesNotMatch(error.message, /hunter2/)
  })

  it('refuses a NUL character, even from a secret', () => {
    const text = 'processes:\n  - name: web\n    command: [node, "${ARG}"]\n'
    const error = failure(() => loadTarget(text, new Map([['ARG', 'a\0b']])))
    assert.deepEqual(only(error.problems), {
      line: 3,
      column: 21,
      field: 'processes[0].command[1] (from secret ARG)',
      message: 'command items must not contain control characters: found a NUL character (U+0000)',
    })
  })

  it('refuses a resource id that is not hex once substituted', () => {
    const error = failure(() => loadTarget(example, new Map([['BUNDLE_RESOURCE_ID', '../../etc']])))
    assert.equal(only(error.problems).field, 'processes[0].resources[0].id (from secret BUNDLE_RESOURCE_ID)')
  })
})

describe('the default target', () => {
  it('is a valid, empty target', () => {
    assert.deepEqual(validateTarget(defaultTargetText()), {processes: [], services: []})
  })

  it('explains the name rule and the $${ escape', () => {
    assert.match(defaultTargetText(), /\[a-z0-9-\]/)
    assert.match(defaultTargetText(), /\$\$\{/)
  })

  it('is a valid target once its example is uncommented', () => {
    const uncommented = defaultTargetText().replace(/^( +)# /gm, '$1')
    const target = loadTarget(uncommented, new Map([['DATABASE_URL', 'postgres://db'], ['BUNDLE_RESOURCE_ID', 'ab12cd34']]))
    assert.equal(target.processes[0].name, 'example-proc')
    assert.equal(target.processes[0].env.DATA_DIR, '${HOME}/data')
    assert.deepEqual(target.services, [{name: 'web', on: '127.0.0.1:5000'}])
  })
})
