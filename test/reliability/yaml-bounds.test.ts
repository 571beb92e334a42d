/**
 * The target reader's guard against deep flow nesting runs on the lexer's flat tokens, before the
 * parser builds a tree (which, for a 1 MiB run of "[", took ~4 s and ~600 MB). It must refuse such
 * documents fast and cheaply, and must not count brackets that are text: in quotes, plain
 * scalars, comments or block scalars.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {readYaml} from '../../src/target/yaml-source.js'
import {validateTarget} from '../../src/target/load.js'
import {say} from './helpers/common.js'

const problemsOf = (text: string) => {
  const result = readYaml(text)
  return 'problems' in result ? result.problems : []
}

describe('deep flow nesting is refused before parsing', () => {
  for (const [label, text] of [
    ['1 MiB of "["', `processes: ${'['.repeat(1024 * 1024 - 20)}`],
    ['1 MiB of "{a: "', `processes: ${'{a: '.repeat(262_000)}`],
    ['mixed "[{"', `processes: ${'[{a: '.repeat(200_000)}`],
  ] as const) {
    it(`${label}: refused in well under a second with the line and column`, (t) => {
      const rssBefore = process.memoryUsage().rss
      const started = performance.now()
      const problems = problemsOf(text)
      const ms = performance.now() - started
      const grown = Math.round((process.memoryUsage().rss - rssBefore) / 1024 / 1024)
      say(t, `${label} (${text.length} bytes) → ${JSON.stringify(problems[0])} in ${ms.toFixed(1)} ms, RSS +${grown} MB`)
      assert.equal(problems.length, 1)
      assert.match(problems[0]!.message, /nested more than 64 levels deep/)
      assert.equal(problems[0]!.line, 1)
      assert.ok(ms < 500, `${ms} ms`)
      assert.ok(grown < 100, `RSS grew ${grown} MB`)
    })
  }

  it('brackets that are text do not count: quotes, plain scalars, comments, block scalars', (t) => {
    const many = '['.repeat(200)
    const text = `# ${many}
processes:
  - name: web
    command: ["echo", "${many}", '${'{'.repeat(200)}']
    env:
      A: "${many}"
      B: plain${many}
    before: |
      echo ${many}
`
    assert.deepEqual(problemsOf(text), [])
    const target = validateTarget(text)
    assert.equal(target.processes[0]!.command[1], many)
    say(t, 'a target with 200 "[" in a comment, a quoted and a plain scalar and a block scalar is read as usual')
  })

  it('64 levels of flow nesting are still read; 65 are refused', () => {
    const nested = (n: number) => `x: ${'['.repeat(n)}${']'.repeat(n)}\n`
    assert.deepEqual(problemsOf(nested(63)), [])
    assert.match(problemsOf(nested(70))[0]!.message, /nested more than 64/)
  })
})
