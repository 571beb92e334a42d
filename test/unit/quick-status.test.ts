/**
 * The quick path of `launcho status` (src/cli/quick-status.ts) reads argv without oclif. What it
 * takes, it must read exactly as oclif's parser reads the command's own flags; everything else it
 * must leave to the command.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Parser} from '@oclif/core'
import Status from '../../src/cli/commands/status.js'
import {readQuickStatusFlags} from '../../src/cli/quick-status.js'

const oclifFlags = {...Status.baseFlags, ...Status.flags}

async function oclifRead(argv: string[]): Promise<{json: boolean; events: number; auth?: string}> {
  const {flags} = await Parser.parse(argv, {flags: oclifFlags, strict: true})
  return {json: Boolean(flags.json), events: flags.events as number, ...(flags.auth !== undefined ? {auth: flags.auth as string} : {})}
}

describe('status quick path argv', () => {
  const taken = [
    [],
    ['--json'],
    ['--events', '3'],
    ['--events=0'],
    ['--events', '500'],
    ['--auth', '/etc/launcho/a.yaml'],
    ['--auth=/tmp/x=y.yaml'],
    ['--json', '--events', '25', '--auth', 'relative/auth.yaml'],
    ['--auth', 'a.yaml', '--json'],
  ]
  for (const argv of taken) {
    it(`takes [${argv.join(' ')}] and reads it as oclif does`, async () => {
      const quick = readQuickStatusFlags(argv)
      assert.ok(quick, 'taken')
      assert.deepEqual(quick, await oclifRead(argv))
    })
  }

  const left = [
    ['-w'],
    ['--watch'],
    ['--help'],
    ['-h'],
    ['--json', '--json'],
    ['--events'],
    ['--events', '-1'],
    ['--events', '501'],
    ['--events', '1.5'],
    ['--events', 'ten'],
    ['--auth'],
    ['--auth', '--json'],
    ['--json=true'],
    ['--jsn'],
    ['--'],
    ['extra'],
    ['--events', '3', '--events', '4'],
  ]
  for (const argv of left) {
    it(`leaves [${argv.join(' ')}] to the command`, () => {
      assert.equal(readQuickStatusFlags(argv), undefined)
    })
  }
})
