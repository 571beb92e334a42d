/**
 * The quick path of `launcho restart|stop|start PROCESS` and `launcho rollback [RELEASE]`
 * (src/cli/quick-process-deploy.ts) reads argv without oclif. What it takes, it must read exactly
 * as oclif's parser reads each command's own args and flags; everything else it must leave to the
 * command. And a refused request is sent once: the command reports the quick path's failure as
 * its own (the real CLI against a real TLS server).
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {Parser, type Interfaces} from '@oclif/core'

type Arg<T> = Interfaces.Arg<T>
import Restart from '../../src/cli/commands/restart.js'
import Rollback from '../../src/cli/commands/rollback.js'
import Start from '../../src/cli/commands/start.js'
import Stop from '../../src/cli/commands/stop.js'
import {readQuickProcessDeployArgs, type QuickProcessCommand, type QuickProcessDeployArgs} from '../../src/cli/quick-process-deploy.js'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

const commands = {restart: Restart, stop: Stop, start: Start, rollback: Rollback}

async function oclifRead(command: QuickProcessCommand, argv: string[]): Promise<QuickProcessDeployArgs> {
  const Command = commands[command]
  const {args, flags} = await Parser.parse(argv, {args: Command.args as Record<string, Arg<unknown>>, flags: {...Command.baseFlags, ...Command.flags}, strict: true})
  const target = command === 'rollback' ? (args.release as number | undefined)?.toString() : (args.process as string)
  return {
    ...(target !== undefined ? {target} : {}),
    detach: Boolean(flags.detach),
    json: Boolean(flags.json),
    // oclif fills in the default; the quick path leaves it to deploy.ts, which uses the same one.
    ...(argv.some((word) => word.startsWith('--timeout')) ? {timeout: flags.timeout as string} : {}),
    ...(flags.auth !== undefined ? {auth: flags.auth as string} : {}),
  }
}

describe('restart, stop, start and rollback quick path argv', () => {
  const taken: Array<[QuickProcessCommand, string[]]> = [
    ['restart', ['web']],
    ['restart', ['web', '--detach']],
    ['stop', ['--json', 'worker']],
    ['start', ['worker', '--timeout', '90s', '--auth', '/etc/launcho/a.yaml']],
    ['restart', ['web', '--timeout=0', '--detach', '--json']],
    ['rollback', []],
    ['rollback', ['11']],
    ['rollback', ['3', '--detach', '--auth=a.yaml']],
  ]
  for (const [command, argv] of taken) {
    it(`${command}: takes [${argv.join(' ')}] and reads it as oclif does`, async () => {
      const quick = readQuickProcessDeployArgs(command, argv)
      assert.ok(quick, 'taken')
      assert.deepEqual(quick, await oclifRead(command, argv))
    })
  }

  const left: Array<[QuickProcessCommand, string[]]> = [
    ['restart', []],
    ['restart', ['--help']],
    ['restart', ['web', 'api']],
    ['restart', ['web', '--json', '--json']],
    ['restart', ['web', '--detach=yes']],
    ['restart', ['web', '--timeout']],
    ['restart', ['web', '--']],
    ['stop', ['-']],
    ['stop', ['web', '--allow-empty']],
    ['start', ['']],
    ['rollback', ['0']],
    ['rollback', ['011']],
    ['rollback', ['-1']],
    ['rollback', ['1e3']],
    ['rollback', ['latest']],
    ['rollback', ['3', '4']],
  ]
  for (const [command, argv] of left) {
    it(`${command}: leaves [${argv.join(' ')}] to the command`, () => {
      assert.equal(readQuickProcessDeployArgs(command, argv), undefined)
    })
  }
})

const launcho = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'launcho.js')
const oclifMark = fileURLToPath(new URL('../helpers/oclif-mark.js', import.meta.url))

describe('restart and rollback against a server that refuses them', () => {
  let api: TestApiServer
  const sent: string[] = []

  before(async () => {
    api = await startTestApiServer('quick-process-deploy', (app) => {
      app.post('/v1/processes/:name/restart', async (request, reply) => {
        const {name} = request.params as {name: string}
        sent.push(`restart ${name}`)
        if (name === 'web') return {changes: [{process: 'web', change: 'replace', from: 'aaaaaaaa', to: 'bbbbbbbb', reasons: ['restart']}], eventSeq: 7}
        return reply.code(404).send({error: {code: 'not_found', message: 'no process "wbe" in the target', hint: 'launcho status lists them'}})
      })
      app.post('/v1/rollback', async (request, reply) => {
        sent.push(`rollback ${JSON.stringify(request.body)}`)
        return reply.code(409).send({error: {code: 'conflict', message: 'release 3 is the one running'}})
      })
    })
  })
  after(async () => api?.close())

  /** The CLI's exit, output, and whether it loaded oclif. */
  const run = (args: string[]) =>
    new Promise<{code: number; stdout: string; stderr: string; oclif: boolean}>((resolve) => {
      const mark = join(api.dir, `oclif-mark-${sent.length}-${Date.now()}`)
      const env = {...process.env, NO_COLOR: '1', LAUNCHO_TEST_OCLIF_MARK: mark}
      execFile(process.execPath, ['--import', oclifMark, launcho, ...args, '--auth', api.authFile], {env}, (error, stdout, stderr) => {
        void readFile(mark, 'utf8').then(
          () => true,
          () => false,
        ).then((oclif) => resolve({code: (error as {code?: number} | null)?.code ?? 0, stdout, stderr, oclif}))
      }).stdin!.end()
    })

  it('restart --detach that the server takes runs without loading oclif, and prints the change', async () => {
    sent.length = 0
    const done = await run(['restart', 'web', '--detach'])
    assert.equal(done.code, 0, done.stderr)
    assert.match(done.stdout, /web/)
    assert.deepEqual(sent, ['restart web'])
    assert.equal(done.oclif, false, 'oclif was loaded')
  })

  it('restart: the refusal is reported by the command, with its hint and exit code, after one request', async () => {
    sent.length = 0
    const failed = await run(['restart', 'wbe'])
    assert.equal(failed.stderr, 'Error: no process "wbe" in the target\nHint: launcho status lists them\n')
    assert.equal(failed.stdout, '')
    assert.notEqual(failed.code, 0)
    assert.deepEqual(sent, ['restart wbe'])
    assert.equal(failed.oclif, true, 'the command reported it')
  })

  it('rollback --json: the error as one JSON object on stderr, after one request', async () => {
    sent.length = 0
    const failed = await run(['rollback', '3', '--json'])
    assert.notEqual(failed.code, 0)
    assert.equal((JSON.parse(failed.stderr) as {error: {code: string}}).error.code, 'conflict')
    assert.deepEqual(sent, ['rollback {"release":3}'])
  })
})
