import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {loadTarget, validateTarget} from '../../src/target/load.js'
import {parseTemplate, secretNamesIn, secretsUsedBy, substituteString} from '../../src/target/substitute.js'

const secrets = (entries: Record<string, string>) => new Map(Object.entries(entries))

const target = `processes:
  - name: web
    command: ["node", "\${ENTRY}", "--db=\${DB_URL}"]
    env:
      DATABASE_URL: "\${DB_URL}"
      LITERAL: "$\${HOME}/data"
    cwd: "/srv/\${APP}"
    resources: [{id: "\${BUNDLE}", file: "bundle.tar.bz2"}]
  - name: worker
    command: ["node", "worker.js"]
    before: "echo \${DB_URL}"
  - name: plain
    command: ["true"]
`

describe('substituteString', () => {
  it('replaces placeholders and unescapes $${', () => {
    const result = substituteString('${A}-$${A}-${B}', secrets({A: 'a', B: 'b'}))
    assert.deepEqual(result, {value: 'a-${A}-b', missing: []})
  })

  it('expands in a single pass', () => {
    assert.equal(substituteString('${A}', secrets({A: '${B}', B: 'b'})).value, '${B}')
    assert.equal(substituteString('${A}', secrets({A: '$${B}'})).value, '$${B}')
  })

  it('lists missing secrets and leaves their placeholders', () => {
    assert.deepEqual(substituteString('x${A}y${A}', new Map()), {value: 'x${A}y${A}', missing: ['A', 'A']})
  })

  it('leaves a lone $ and unrelated braces alone', () => {
    assert.equal(substituteString('cost: $5 {x} $', new Map()).value, 'cost: $5 {x} $')
    assert.deepEqual(parseTemplate('a${1X}b'), [
      {kind: 'text', text: 'a'},
      {kind: 'invalid', text: '${1X}'},
      {kind: 'text', text: 'b'},
    ])
  })
})

describe('loadTarget substitution', () => {
  const all = secrets({ENTRY: 'server.js', DB_URL: 'postgres://u:p@db/app', APP: 'web', BUNDLE: 'c0ffee00'})

  it('substitutes every string value of a process', () => {
    const [web, worker] = loadTarget(target, all).processes
    assert.deepEqual(web.command, ['node', 'server.js', '--db=postgres://u:p@db/app'])
    assert.deepEqual(web.env, {DATABASE_URL: 'postgres://u:p@db/app', LITERAL: '${HOME}/data'})
    assert.equal(web.cwd, '/srv/web')
    assert.deepEqual(web.resources, [{id: 'c0ffee00', file: 'bundle.tar.bz2'}])
    assert.equal(worker.before, 'echo postgres://u:p@db/app')
  })

  it('keeps a secret that contains ${OTHER} literal', () => {
    const web = loadTarget(target, new Map([...all, ['ENTRY', '${DB_URL}']])).processes[0]
    assert.equal(web.command[1], '${DB_URL}')
  })

  it('cannot change the YAML structure through a secret value', () => {
    const hostile = '"\nprocesses:\n  - name: evil\n    command: [rm]\nx: "y: z'
    // In env and before only: a newline is refused in a command item (see target-refusals.test.ts).
    const inEnvAndBefore = target.replace(', "--db=${DB_URL}"', '')
    const loaded = loadTarget(inEnvAndBefore, new Map([...all, ['DB_URL', hostile]]))
    assert.deepEqual(
      loaded.processes.map((p) => p.name),
      ['web', 'worker', 'plain'],
    )
    assert.equal(loaded.processes[0].env.DATABASE_URL, hostile)
  })

  it('names a missing secret with every line that uses it', () => {
    let error: unknown
    try {
      loadTarget(target, secrets({ENTRY: 'server.js', APP: 'web', BUNDLE: 'c0ffee00'}))
    } catch (caught) {
      error = caught
    }
    assert.ok(error instanceof LaunchoError)
    assert.equal(error.code, 'missing_secret')
    assert.equal(error.message, 'secret "DB_URL" is not set')
    assert.equal(error.hint, 'launcho secret set DB_URL VALUE')
    assert.deepEqual(
      error.problems.map((p) => [p.line, p.field, p.message]),
      [
        [3, 'processes[0].command[2]', 'secret "DB_URL" is not set'],
        [5, 'processes[0].env.DATABASE_URL', 'secret "DB_URL" is not set'],
        [11, 'processes[1].before', 'secret "DB_URL" is not set'],
      ],
    )
    assert.equal(error.problems[0].column, 35)
  })

  it('lists several missing secrets in one error', () => {
    let error: unknown
    try {
      loadTarget(target, new Map())
    } catch (caught) {
      error = caught
    }
    assert.ok(error instanceof LaunchoError)
    assert.equal(error.message, 'secrets "ENTRY", "DB_URL", "APP", "BUNDLE" are not set')
    assert.match(error.hint ?? '', /launcho secret set BUNDLE VALUE/)
  })
})

describe('secretsUsedBy', () => {
  it('tells which secrets each process uses', () => {
    const used = secretsUsedBy(validateTarget(target))
    assert.deepEqual(
      [...used].map(([name, set]) => [name, [...set].sort()]),
      [
        ['web', ['APP', 'BUNDLE', 'DB_URL', 'ENTRY']],
        ['worker', ['DB_URL']],
        ['plain', []],
      ],
    )
    assert.deepEqual([...secretNamesIn(validateTarget(target))].sort(), ['APP', 'BUNDLE', 'DB_URL', 'ENTRY'])
  })

  it('does not count escaped placeholders', () => {
    const text = 'processes:\n  - name: web\n    command: ["echo", "$${HOME}"]\n'
    assert.deepEqual(secretsUsedBy(validateTarget(text)).get('web'), new Set())
  })
})
