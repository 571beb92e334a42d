/**
 * A failing `t set` or `secret set` is sent once: the quick paths (src/cli/quick-set.ts,
 * quick-secret-set.ts) hand their failure to the command, which reports it as its own (file, line
 * and field; exit 2; --json on stderr) without reading the file or stdin, or sending, again. The
 * real CLI against a real TLS server.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

const launcho = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'launcho.js')

describe('t set against a server that refuses the target', () => {
  let api: TestApiServer
  let target: string
  let sent = 0
  const secretsSent: string[] = []

  before(async () => {
    api = await startTestApiServer('quick-set', (app) => {
      app.put('/v1/secrets/:name', async (request, reply) => {
        secretsSent.push((request.body as {value: string}).value)
        return reply.code(409).send({error: {code: 'conflict', message: 'the secret is in use by a change under way', hint: 'try again once it ended'}})
      })
      app.put('/v1/target', async (_request, reply) => {
        sent++
        return reply.code(400).send({
          error: {code: 'invalid_target', message: 'invalid target', problems: [{line: 4, column: 5, field: 'processes[0].cwd', message: 'must be an absolute path'}]},
        })
      })
    })
    target = join(api.dir, 'bad.yaml')
    await writeFile(target, 'processes:\n  - name: web\n    command: ["sleep", "60"]\n    cwd: relative/dir\n')
  })
  after(async () => api?.close())

  const refused = (args: string[], input?: string) =>
    new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      const child = execFile(process.execPath, [launcho, ...args, '--auth', api.authFile], {env: {...process.env, NO_COLOR: '1'}}, (error, stdout, stderr) =>
        resolve({code: (error as {code?: number} | null)?.code ?? 0, stdout, stderr}),
      )
      child.stdin!.end(input ?? '')
    }).then(
      (result) => {
        assert.notEqual(result.code, 0, 'it succeeded')
        return result
      },
    )

  it('reports the problems with file, line and field, exit 2, after one request', async () => {
    sent = 0
    const failed = await refused(['t', 'set', target])
    assert.equal(failed.code, 2)
    assert.equal(failed.stdout, '')
    assert.equal(failed.stderr, `Error: invalid target\n  ${target}:4:5: processes[0].cwd: must be an absolute path\n`)
    assert.equal(sent, 1)
  })

  it('--json: the error as one JSON object on stderr, after one request', async () => {
    sent = 0
    const failed = await refused(['target', 'set', target, '--json', '--detach'])
    assert.equal(failed.code, 2)
    const body = JSON.parse(failed.stderr) as {error: {code: string; problems: Array<{file: string; line: number}>}}
    assert.equal(body.error.code, 'invalid_target')
    assert.deepEqual([body.error.problems[0]!.file, body.error.problems[0]!.line], [target, 4])
    assert.equal(sent, 1)
  })

  it('a file that cannot be read is reported by the command, with nothing sent', async () => {
    sent = 0
    const failed = await refused(['t', 'set', join(api.dir, 'missing.yaml')])
    assert.equal(failed.code, 2)
    assert.match(failed.stderr, /^Error: cannot read .*missing\.yaml: ENOENT/)
    assert.equal(sent, 0)
  })

  it('secret set: a value from the argv, refused, is reported by the command after one request', async () => {
    secretsSent.length = 0
    const failed = await refused(['secret', 'set', 'TOKEN', 'v1'])
    assert.equal(failed.code, 2)
    assert.equal(failed.stderr, 'Error: the secret is in use by a change under way\nHint: try again once it ended\n')
    assert.deepEqual(secretsSent, ['v1'])
  })

  it('secret set: a value piped on stdin, refused, is read and sent once', async () => {
    secretsSent.length = 0
    const failed = await refused(['s', 'set', 'TOKEN', '--json'], 'from-stdin')
    assert.equal(failed.code, 2)
    assert.equal((JSON.parse(failed.stderr) as {error: {code: string}}).error.code, 'conflict')
    assert.deepEqual(secretsSent, ['from-stdin'])
  })
})
