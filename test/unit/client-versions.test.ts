/**
 * The CLI takes a server's answers as typed only from a server of its own version (same protocol
 * module); a server of another version, or one that names none, has each answer checked against
 * the route's schema, and its error bodies are read by shape. Over real TLS, against fastify routes
 * that answer as a server of that other version might.
 */
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {pino} from 'pino'
import {createApiServer, type ApiServer} from '../../src/api/server.js'
import {loadOrCreateServerAuth} from '../../src/api/server-auth.js'
import {ApiClient} from '../../src/cli/client.js'
import {LaunchoError} from '../../src/errors.js'
import {packageVersion} from '../../src/package-version.js'
import {VERSION_HEADER} from '../../src/protocol/endpoints.js'

describe('answers of servers of other versions', () => {
  let dir: string
  let api: ApiServer
  let client: ApiClient
  /** What /v1/ping answers, and the version the answer names. */
  let answer: {body: unknown; version: string | undefined}

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'launcho-client-versions-'))
    const auth = await loadOrCreateServerAuth(dir, '127.0.0.1:0')
    api = await createApiServer({
      auth,
      logger: pino({level: 'silent'}),
      register: (app) => {
        app.get('/v1/commands', async (_request, reply) => {
          if (answer.version === undefined) reply.raw.removeHeader(VERSION_HEADER)
          else reply.raw.setHeader(VERSION_HEADER, answer.version)
          return answer.body
        })
        app.get('/v1/secrets', async (_request, reply) =>
          reply.code(409).send({error: {code: 'conflict', message: 'busy', hint: 'wait', problems: [{field: 'x', message: 'taken', extra: 1}]}}),
        )
      },
    })
    const {port} = await api.listen('127.0.0.1', 0)
    client = new ApiClient({path: 'test', host: `127.0.0.1:${port}`, cert: auth.cert, token: auth.token})
  })
  after(async () => {
    await api?.close()
    await rm(dir, {recursive: true, force: true})
  })

  const wrongShape = {commands: [{name: 'migrate', process: 7}]}
  const refusesShape = (error: unknown) => error instanceof LaunchoError && /not what this launcho CLI expects/.test(error.message) && /different versions/.test(error.hint ?? '')

  it('checks every answer of a server of another version against its schema', async () => {
    answer = {body: wrongShape, version: '0.0.1'}
    await assert.rejects(client.commands(), refusesShape)
    answer = {body: {commands: [{name: 'migrate', process: 'web', command: ['true']}]}, version: '0.0.1'}
    assert.deepEqual(await client.commands(), answer.body)
  })

  it('checks the answers of a server that names no version', async () => {
    answer = {body: wrongShape, version: undefined}
    await assert.rejects(client.commands(), refusesShape)
  })

  it('takes the answers of a server of its own version as they come', async () => {
    answer = {body: {commands: [{name: 'migrate', process: 'web', command: ['true']}]}, version: packageVersion()}
    assert.deepEqual(await client.commands(), answer.body)
    assert.equal(client.transport.serverVersion, packageVersion())
  })

  it('every answer of launcho\'s own server names its version', async () => {
    await client.ping()
    assert.equal(client.transport.serverVersion, packageVersion())
  })

  it('reads an error body by its shape: code, message, hint and each problem\'s own fields', async () => {
    await assert.rejects(client.secretNames(), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'conflict')
      assert.equal(error.message, 'busy')
      assert.equal(error.hint, 'wait')
      assert.deepEqual(error.problems, [{field: 'x', message: 'taken'}])
      return true
    })
  })
})
