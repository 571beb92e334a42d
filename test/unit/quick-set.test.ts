/**
 * The quick path of `launcho t set` (src/cli/quick-set.ts) reads argv without oclif. What it
 * takes, it must read exactly as oclif's parser reads the command's own args and flags;
 * everything else it must leave to the command.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Parser} from '@oclif/core'
import TargetSet from '../../src/cli/commands/target/set.js'
import {readQuickSetArgs, type QuickSetArgs} from '../../src/cli/quick-set.js'

const oclifFlags = {...TargetSet.baseFlags, ...TargetSet.flags}

async function oclifRead(argv: string[]): Promise<QuickSetArgs> {
  const {args, flags} = await Parser.parse(argv, {args: TargetSet.args, flags: oclifFlags, strict: true})
  return {
    file: args.file as string,
    detach: Boolean(flags.detach),
    json: Boolean(flags.json),
    allowEmpty: Boolean(flags['allow-empty']),
    ...(flags.auth !== undefined ? {auth: flags.auth as string} : {}),
    // oclif fills in the default; the quick path leaves it to deploy.ts, which uses the same one.
    ...(flags.timeout !== undefined && argv.some((word) => word.startsWith('--timeout')) ? {timeout: flags.timeout as string} : {}),
  }
}

describe('t set quick path argv', () => {
  const taken = [
    ['target.yaml'],
    ['-'],
    ['target.yaml', '--detach'],
    ['--detach', 'target.yaml'],
    ['t.yaml', '--json', '--allow-empty'],
    ['t.yaml', '--timeout', '90s'],
    ['t.yaml', '--timeout=0'],
    ['--auth', '/etc/launcho/a.yaml', 'dir/t.yaml'],
    ['t.yaml', '--auth=/tmp/x=y.yaml', '--detach', '--json', '--allow-empty', '--timeout', '1h'],
    ['a file with spaces.yaml'],
  ]
  for (const argv of taken) {
    it(`takes [${argv.join(' ')}] and reads it as oclif does`, async () => {
      const quick = readQuickSetArgs(argv)
      assert.ok(quick, 'taken')
      assert.deepEqual(quick, await oclifRead(argv))
    })
  }

  it('a missing --timeout means the command default (deploy.ts and the flag agree)', async () => {
    const {flags} = await Parser.parse(['t.yaml'], {args: TargetSet.args, flags: oclifFlags, strict: true})
    const {DEFAULT_TIMEOUT} = await import('../../src/cli/deploy.js')
    assert.equal(flags.timeout, DEFAULT_TIMEOUT)
    assert.equal(readQuickSetArgs(['t.yaml'])!.timeout, undefined)
  })

  const left = [
    [],
    ['--help'],
    ['-h'],
    ['--detach'],
    ['a.yaml', 'b.yaml'],
    ['a.yaml', '--detach', '--detach'],
    ['a.yaml', '--detach=true'],
    ['a.yaml', '--json=false'],
    ['a.yaml', '--timeout'],
    ['a.yaml', '--timeout', '--json'],
    ['a.yaml', '--auth'],
    ['a.yaml', '--wait'],
    ['a.yaml', '--'],
    ['--', 'a.yaml'],
    ['a.yaml', '-d'],
    [''],
  ]
  for (const argv of left) {
    it(`leaves [${argv.join(' ')}] to the command`, () => {
      assert.equal(readQuickSetArgs(argv), undefined)
    })
  }
})
