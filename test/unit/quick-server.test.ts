/**
 * The quick path of `launcho server` (src/cli/quick-server.ts) reads argv and two environment
 * variables without oclif. What it takes, it must read exactly as oclif reads the command's flags;
 * everything else it must leave to the command. A server that fails is reported by the command,
 * as its own error, without being started twice (the real CLI).
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {Parser} from '@oclif/core'
import Server from '../../src/cli/commands/server.js'
import {readQuickServerFlags} from '../../src/cli/quick-server.js'
import type {ServerFlags} from '../../src/cli/run-server.js'

async function oclifRead(argv: string[], env: NodeJS.ProcessEnv): Promise<ServerFlags> {
  const saved = {config: process.env.LAUNCHO_CONFIG, journal: process.env.LAUNCHO_JOURNAL_ROOT}
  const put = (name: string, value: string | undefined) => (value === undefined ? delete process.env[name] : (process.env[name] = value))
  put('LAUNCHO_CONFIG', env.LAUNCHO_CONFIG)
  put('LAUNCHO_JOURNAL_ROOT', env.LAUNCHO_JOURNAL_ROOT)
  try {
    const {flags} = await Parser.parse(argv, {flags: {...Server.baseFlags, ...Server.flags}, strict: true})
    const read: ServerFlags = {}
    if (flags['state-dir'] !== undefined) read.stateDir = flags['state-dir'] as string
    if (flags.listen !== undefined) read.listen = flags.listen as string
    if (flags.config !== undefined) read.config = flags.config as string
    if (flags['journal-root'] !== undefined) read.journalRoot = flags['journal-root'] as string
    return read
  } finally {
    put('LAUNCHO_CONFIG', saved.config)
    put('LAUNCHO_JOURNAL_ROOT', saved.journal)
  }
}

describe('server quick path argv', () => {
  const taken: Array<[string[], NodeJS.ProcessEnv]> = [
    [[], {}],
    [['--state-dir', '/var/lib/launcho', '--listen', '0.0.0.0:12888'], {}],
    [['--listen=127.0.0.1:0', '--config', '/etc/launcho/config.yaml', '--journal-root=/proc/1/root'], {}],
    [[], {LAUNCHO_CONFIG: '/etc/launcho/config.yaml', LAUNCHO_JOURNAL_ROOT: '/proc/7/root'}],
    [['--config', 'mine.yaml'], {LAUNCHO_CONFIG: '/etc/launcho/config.yaml'}],
    [['--journal-root', '/proc/9/root', '--state-dir=/tmp/s'], {LAUNCHO_JOURNAL_ROOT: '/proc/7/root'}],
  ]
  for (const [argv, env] of taken) {
    it(`takes [${argv.join(' ')}] with ${JSON.stringify(env)} and reads it as oclif does`, async () => {
      const quick = readQuickServerFlags(argv, env)
      assert.ok(quick, 'taken')
      assert.deepEqual(quick, await oclifRead(argv, env))
    })
  }

  const left: Array<[string[], NodeJS.ProcessEnv]> = [
    [['--help'], {}],
    [['-h'], {}],
    [['--stat-dir', '/x'], {}],
    [['--listen'], {}],
    [['--listen', '--config', 'a.yaml'], {}],
    [['--listen', 'a:1', '--listen', 'b:2'], {}],
    [['extra'], {}],
    [['--config='], {}],
    [[], {LAUNCHO_CONFIG: ''}],
    [[], {LAUNCHO_JOURNAL_ROOT: ''}],
  ]
  for (const [argv, env] of left) {
    it(`leaves [${argv.join(' ')}] with ${JSON.stringify(env)} to the command`, () => {
      assert.equal(readQuickServerFlags(argv, env), undefined)
    })
  }
})

const launcho = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'launcho.js')
const oclifMark = fileURLToPath(new URL('../helpers/oclif-mark.js', import.meta.url))

describe('a server that fails to start', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-quick-server-'))
  })
  after(async () => rm(dir, {recursive: true, force: true}))

  it('is reported by the command, with its hint and exit code', async () => {
    const mark = join(dir, 'oclif-mark')
    const missing = join(dir, 'no-such-config.yaml')
    const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', LAUNCHO_TEST_OCLIF_MARK: mark}
    delete env.LAUNCHO_CONFIG
    const done = await new Promise<{code: number; stderr: string}>((resolve) => {
      execFile(process.execPath, ['--import', oclifMark, launcho, 'server', '--config', missing, '--state-dir', join(dir, 'state')], {env}, (error, _stdout, stderr) => {
        resolve({code: (error as {code?: number} | null)?.code ?? 0, stderr})
      })
    })
    assert.match(done.stderr, new RegExp(`^Error: cannot read the config file ${missing}: ENOENT[^\\n]*\\nHint: pass an existing file with --config, or leave it out to use the defaults\\n$`))
    assert.equal(done.code, 2)
    assert.equal(await readFile(mark, 'utf8').then(() => true, () => false), true, 'the command reported it')
  })
})
