/**
 * A failing status is asked for once: the quick path of `launcho status` (src/cli/quick-status.ts)
 * hands its failure to the command, which reports it without a second request (a server that
 * times out is then waited for once, not twice). The real CLI against a real TLS server.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

const run = promisify(execFile)
const launcho = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'launcho.js')

describe('status against a server that fails it', () => {
  let api: TestApiServer
  let asked = 0

  before(async () => {
    api = await startTestApiServer('quick-status', (app) => {
      app.get('/v1/status', async (_request, reply) => {
        asked++
        return reply.code(503).send({error: {code: 'systemd_failed', message: 'the server has lost its connection to systemd', hint: 'check dbus'}})
      })
    })
  })
  after(async () => api?.close())

  for (const args of [['status'], ['status', '--json']]) {
    it(`launcho ${args.join(' ')} reports the server's error after one request`, async () => {
      asked = 0
      const failed = await run(process.execPath, [launcho, ...args, '--auth', api.authFile], {env: {...process.env, NO_COLOR: '1'}}).then(
        () => assert.fail('status succeeded'),
        (error: {code: number; stderr: string}) => error,
      )
      assert.equal(failed.code, 1)
      assert.match(failed.stderr, /lost its connection to systemd/)
      assert.equal(asked, 1)
    })
  }
})
