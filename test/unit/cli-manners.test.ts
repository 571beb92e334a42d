/**
 * The CLI as a new user meets it: topic aliases show help, a mistyped command gets the nearest
 * real one and exit 2, and no message shows oclif's internal `topic:verb` names.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, it} from 'node:test'
import {promisify} from 'node:util'
import {editDistance, nearestCommand} from '../../src/cli/suggest.js'

const run = promisify(execFile)
const launcho = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'launcho.js')

async function cli(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await run(process.execPath, [launcho, ...args], {env: {...process.env, NO_COLOR: '1'}})
    return {code: 0, stdout, stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

describe('CLI manners', () => {
  for (const args of [['t'], ['t', '--help'], ['help', 't'], ['target']]) {
    it(`launcho ${args.join(' ')} shows the target topic's help`, async () => {
      const {code, stdout} = await cli(...args)
      assert.equal(code, 0)
      assert.match(stdout, /target set/)
      assert.match(stdout, /target diff/)
    })
  }
  for (const [alias, verb] of [['s', 'secret set'], ['secrets', 'secret set'], ['r', 'resource up'], ['resources', 'resource up']]) {
    it(`launcho ${alias} shows help that lists ${verb}`, async () => {
      const {code, stdout} = await cli(alias!)
      assert.equal(code, 0)
      assert.match(stdout, new RegExp(verb!))
    })
  }

  it('launcho help status shows the status command', async () => {
    const {code, stdout} = await cli('help', 'status')
    assert.equal(code, 0)
    assert.match(stdout, /\$ launcho status/)
  })

  it('a mistyped command is refused with exit 2 and the nearest command, in the words a user types', async () => {
    const cases: Array<[string[], string | undefined]> = [
      [['stauts'], 'launcho status'],
      [['t', 'sett', 'x'], 'launcho target set'],
      [['secrte', 'ls'], 'launcho secret ls'],
      [['xyzzy'], undefined],
    ]
    for (const [args, suggestion] of cases) {
      const {code, stdout, stderr} = await cli(...args)
      assert.equal(code, 2, `launcho ${args.join(' ')}: ${stderr}`)
      assert.equal(stdout, '')
      assert.match(stderr, /is not a launcho command/)
      assert.doesNotMatch(stderr, /\w:\w/, `no internal command ids: ${stderr}`)
      if (suggestion) assert.match(stderr, new RegExp(`Did you mean "${suggestion}"`))
      else assert.doesNotMatch(stderr, /Did you mean/)
    }
  })
})

describe('nearestCommand', () => {
  const commands = [['status'], ['logs'], ['target', 'set'], ['target', 'get'], ['secret', 'set']]
  it('compares each command with as many typed words as it has', () => {
    assert.equal(nearestCommand(['target', 'sett', 'file.yaml'], commands), 'target set')
    assert.equal(nearestCommand(['stats'], commands), 'status')
  })
  it('suggests nothing for words far from every command', () => {
    assert.equal(nearestCommand(['deploy'], commands), undefined)
  })
  it('counts a swap of two letters as one edit', () => {
    assert.equal(editDistance('stauts', 'status'), 1)
    assert.equal(editDistance('', 'abc'), 3)
  })
})
