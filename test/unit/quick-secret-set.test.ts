/**
 * The quick path of `launcho secret set` (src/cli/quick-secret-set.ts) reads argv without oclif.
 * What it takes, it must read exactly as oclif's parser reads the command's own args and flags;
 * everything else it must leave to the command.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Parser} from '@oclif/core'
import SecretSet from '../../src/cli/commands/secret/set.js'
import {readQuickSecretSetArgs, type QuickSecretSetArgs} from '../../src/cli/quick-secret-set.js'

const oclifFlags = {...SecretSet.baseFlags, ...SecretSet.flags}

async function oclifRead(argv: string[]): Promise<QuickSecretSetArgs> {
  const {args, flags} = await Parser.parse(argv, {args: SecretSet.args, flags: oclifFlags, strict: true})
  return {
    name: args.name as string,
    ...(args.value !== undefined ? {value: args.value as string} : {}),
    detach: Boolean(flags.detach),
    json: Boolean(flags.json),
    ...(flags['from-file'] !== undefined ? {fromFile: flags['from-file'] as string} : {}),
    // oclif fills in the default; the quick path leaves it to deploy.ts, which uses the same one.
    ...(argv.some((word) => word.startsWith('--timeout')) ? {timeout: flags.timeout as string} : {}),
    ...(flags.auth !== undefined ? {auth: flags.auth as string} : {}),
  }
}

describe('secret set quick path argv', () => {
  const taken = [
    ['DB_URL', 'postgres://db/app'],
    ['TOKEN'],
    ['TOKEN', 'a value with spaces', '--detach'],
    ['--json', 'TOKEN', 'x=y'],
    ['TLS_KEY', '--from-file', 'key.pem'],
    ['TLS_KEY', '--from-file=dir/key.pem', '--timeout', '90s'],
    ['TOKEN', 'v1', '--auth', '/etc/launcho/a.yaml', '--timeout=0', '--detach', '--json'],
  ]
  for (const argv of taken) {
    it(`takes [${argv.join(' ')}] and reads it as oclif does`, async () => {
      const quick = readQuickSecretSetArgs(argv)
      assert.ok(quick, 'taken')
      assert.deepEqual(quick, await oclifRead(argv))
    })
  }

  const left = [
    [],
    ['--help'],
    ['TOKEN', '--help'],
    ['TOKEN', '-'],
    ['TOKEN', '-starts-with-a-dash'],
    ['TOKEN', 'a', 'b'],
    ['TOKEN', 'v', '--json', '--json'],
    ['TOKEN', 'v', '--detach=yes'],
    ['TOKEN', '--from-file'],
    ['TOKEN', 'v', '--timeout'],
    ['TOKEN', 'v', '--'],
    ['TOKEN', 'v', '--allow-empty'],
    ['TOKEN', ''],
  ]
  for (const argv of left) {
    it(`leaves [${argv.join(' ')}] to the command`, () => {
      assert.equal(readQuickSecretSetArgs(argv), undefined)
    })
  }
})
