/**
 * The CLI takes a server's answers as typed only from a server of its own version (same protocol
 * module); a server of another version, or one that names none, has each answer checked against
 * the route's schema, and its error bodies are read by shape. Over real TLS, against fastify routes
 * that answer as a server of that other version might.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ApiClient} from '../../src/cli/client.js'
import {LaunchoError} from '../../src/errors.js'
import {packageVersion} from '../../src/package-version.js'
import {VERSION_HEADER} from '../../src/protocol/endpoints.js'
import {startTestApiServer, type TestApiServer} from '../helpers/test-api-server.js'

describe('answers of servers of other versions', () => {
  let api: TestApiServer
  let client: ApiClient
  /** What /v1/ping answers, and the version the answer names. */
  let answer: {body: unknown; version: string | undefined}

  before(async () => {
    api = await startTestApiServer('client-versions', (app) => {
      app.get('/v1/commands', async (_request, reply) => {
        if (answer.version === undefined) reply.raw.removeHeader(VERSION_HEADER)
        else reply.raw.setHeader(VERSION_HEADER, answer.version)
        return answer.body
      })
      app.get('/v1/secrets', async (_request, reply) =>
        reply.code(409).send({error: {code: 'conflict', message: 'busy', hint: 'wait', problems: [{field: 'x', message: 'taken', extra: 1}]}}),
      )
    })
    client = new ApiClient({path: 'test', host: api.host, cert: api.auth.cert, token: api.auth.token})
  })
  after(async () => api?.close())

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
