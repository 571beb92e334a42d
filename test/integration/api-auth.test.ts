import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {request as httpsRequest} from 'node:https'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {connect as tlsConnect} from 'node:tls'
import {pino} from 'pino'
import {generate} from 'selfsigned'
import {type ApiServer, createApiServer} from '../../src/api/server.js'
import {clientAuthText, loadOrCreateServerAuth, type ServerAuth} from '../../src/api/server-auth.js'
import {generateToken} from '../../src/api/token.js'
import {type ClientAuth, loadClientAuth} from '../../src/cli/client-auth.js'
import {ApiClient} from '../../src/cli/client.js'
import {LaunchoError} from '../../src/errors.js'

const pkgVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string}).version

interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  json: {error?: {code: string; message: string; hint?: string}} & Record<string, unknown>
}

/** A bare HTTPS request that trusts server A's cert, for what ApiClient would not send. */
function raw(port: number, ca: string, options: {method?: string; path?: string; headers?: Record<string, string | number>; body?: string | Buffer}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {host: '127.0.0.1', port, ca, method: options.method ?? 'GET', path: options.path ?? '/v1/ping', headers: options.headers, agent: false},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')}))
      },
    )
    // The server may answer 413 and close before the whole body is written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)))
    req.end(options.body)
  })
}

describe('control API auth over real TLS', () => {
  const logLines: string[] = []
  const logger = pino({level: 'debug'}, {write: (line: string) => void logLines.push(line)})
  let dirA: string
  let dirB: string
  let authA: ServerAuth
  let authB: ServerAuth
  let server: ApiServer
  let port: number
  let clientAuth: ClientAuth
  let rawRequests = 0

  before(async () => {
    dirA = await mkdtemp('/var/tmp/launcho-test-a-')
    dirB = await mkdtemp('/var/tmp/launcho-test-b-')
    authA = await loadOrCreateServerAuth(join(dirA, 'state'), '127.0.0.1:12888', {logger})
    authB = await loadOrCreateServerAuth(dirB, '127.0.0.1:12888')
    server = await createApiServer({
      auth: authA,
      logger,
      register(app) {
        app.post('/v1/echo', async (request) => ({echo: request.body}))
        app.get('/v1/conflict', async () => {
          throw new LaunchoError('conflict', 'a rollout of web is in progress', {hint: 'wait for it, or run "launcho status"'})
        })
        app.get('/v1/crash', async () => {
          throw new Error('secret internals exploded')
        })
      },
    })
    server.app.server.on('request', () => rawRequests++)
    ;({port} = await server.listen('127.0.0.1', 0))
    const clientFile = join(dirA, 'launcho-client-auth.yaml')
    await writeFile(clientFile, clientAuthText(authA, `127.0.0.1:${port}`))
    clientAuth = await loadClientAuth(clientFile)
  })

  after(async () => {
    await server?.close()
    await rm(dirA, {recursive: true, force: true})
    await rm(dirB, {recursive: true, force: true})
  })

  test('ping with the right token works through ApiClient', async () => {
    const answer = await new ApiClient(clientAuth).ping()
    assert.deepEqual(answer, {ok: true, version: pkgVersion})
  })

  test('no token → 401 missing token, with a hint', async () => {
    const res = await raw(port, authA.cert, {})
    assert.equal(res.status, 401)
    assert.equal(res.json.error?.code, 'unauthorized')
    assert.equal(res.json.error?.message, 'missing token')
    assert.ok(res.json.error?.hint)
    assert.match(String(res.headers['www-authenticate']), /^Bearer/)
  })

  test('no token on an unknown route is still 401, so routes are not revealed', async () => {
    assert.equal((await raw(port, authA.cert, {path: '/v1/does-not-exist'})).status, 401)
  })

  test('a URL that is not UTF-8 percent-encoding → 400 in the API\'s error shape, but 401 first without the token', async () => {
    for (const path of ['/v1/secrets/%ff', '/v1/secrets/%E0%A4%A']) {
      const res = await raw(port, authA.cert, {path, headers: {authorization: `Bearer ${authA.token}`}})
      assert.equal(res.status, 400, path)
      assert.equal(res.json.error?.code, 'invalid_request', path)
      assert.equal(res.json.error?.message, 'the URL is not valid UTF-8 percent-encoding', path)
      assert.match(res.json.error?.hint ?? '', /percent-encode/, path)

      const anonymous = await raw(port, authA.cert, {path})
      assert.equal(anonymous.status, 401, path)
      assert.equal(anonymous.json.error?.message, 'missing token', path)
      const wrong = await raw(port, authA.cert, {path, headers: {authorization: `Bearer ${generateToken()}`}})
      assert.equal(wrong.json.error?.message, 'wrong token', path)
    }
  })

  test('wrong token → 401 wrong token, and the client says which auth file was refused', async () => {
    const res = await raw(port, authA.cert, {headers: {authorization: `Bearer ${generateToken()}`}})
    assert.equal(res.status, 401)
    assert.equal(res.json.error?.message, 'wrong token')
    const client = new ApiClient({...clientAuth, token: generateToken()})
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'unauthorized')
      assert.equal(error.message, `the server refused the token in ${clientAuth.path} (wrong token)`)
      assert.match(error.hint ?? '', /launcho print-auth --host 127\.0\.0\.1:\d+/)
      return true
    })
  })

  test('a client pinned to another server certificate is refused before sending anything', async () => {
    const before = rawRequests
    const client = new ApiClient({...clientAuth, cert: authB.cert})
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.message, `the server at 127.0.0.1:${port} presented a certificate that is not the one in ${clientAuth.path}`)
      assert.match(error.hint ?? '', /print-auth/)
      return true
    })
    assert.equal(rawRequests, before, 'no HTTP request may reach the server')
  })

  test('a certificate merely signed by the pinned one is refused too (exact fingerprint pin)', async () => {
    // The pinned cert is a CA here, so OpenSSL's chain check passes; only the fingerprint pin stops it.
    const ca = await generate([{name: 'commonName', value: 'pinned ca'}], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        {name: 'basicConstraints', cA: true, critical: true},
        {name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true},
      ],
    })
    const leaf = await generate([{name: 'commonName', value: 'launcho'}], {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: {key: ca.private, cert: ca.cert},
      extensions: [{name: 'subjectAltName', altNames: [{type: 7, ip: '127.0.0.1'}]}],
    })
    let reached = 0
    const impostor = await createApiServer({
      auth: {...authA, cert: leaf.cert, key: leaf.private},
      logger: pino({level: 'silent'}),
      register() {},
    })
    impostor.app.server.on('request', () => reached++)
    try {
      const {port: impostorPort} = await impostor.listen('127.0.0.1', 0)
      const client = new ApiClient({...clientAuth, host: `127.0.0.1:${impostorPort}`, cert: ca.cert})
      await assert.rejects(client.ping(), /presented a certificate that is not the one in/)
      assert.equal(reached, 0)
    } finally {
      await impostor.close()
    }
  })

  test('the client ignores the host name but not the certificate', async () => {
    const client = new ApiClient({...clientAuth, host: `localhost:${port}`})
    assert.equal((await client.ping()).ok, true)
  })

  test('the server auth file is 0600 and a second load returns the same identity', async () => {
    const path = join(dirA, 'state', 'launcho-server-auth.yaml')
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal((await stat(join(dirA, 'state'))).mode & 0o777, 0o700)
    const textBefore = await readFile(path, 'utf8')
    const again = await loadOrCreateServerAuth(join(dirA, 'state'), 'elsewhere:1')
    assert.deepEqual(again, authA)
    assert.equal(await readFile(path, 'utf8'), textBefore)
    assert.match(authA.token, /^[0-9a-f]{64}$/)
    assert.notEqual(authA.token, authB.token)
    assert.notEqual(authA.fingerprint, authB.fingerprint)
  })

  test('the client auth text has the original format and parses back', async () => {
    const text = clientAuthText(authA, 'server.example.com:12888')
    assert.match(text, /^# Paste this into ~\/\.launcho\/launcho-client-auth\.yaml on the client machine\n/)
    assert.match(text, /\nhost: "server\.example\.com:12888"\ncert: \|\n {2}-----BEGIN CERTIFICATE-----\n/)
    assert.match(text, /\nprivate: null\ntoken: [0-9a-f]{64}\n$/)
    assert.doesNotMatch(text, /PRIVATE KEY/)
    const file = join(dirB, 'client.yaml')
    await writeFile(file, text)
    assert.deepEqual(await loadClientAuth(file), {path: file, host: 'server.example.com:12888', cert: authA.cert, token: authA.token})
  })

  test('a malformed auth file names the file and the field', async () => {
    const file = join(dirB, 'bad.yaml')
    await writeFile(file, clientAuthText(authA).replace(/token: \w+/, 'token: short'))
    await assert.rejects(loadClientAuth(file), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.match(error.message, new RegExp(`invalid auth file ${file}: token: must be 64`))
      assert.deepEqual(error.problems.map((p) => p.field), ['token'])
      return true
    })
    await writeFile(file, 'host: "a:1"\ncert: nope\n')
    await assert.rejects(loadClientAuth(file), /cert: is not a readable PEM certificate; token: is missing/)
  })

  test('a missing client auth file says how to create it', async () => {
    const file = join(dirB, 'missing.yaml')
    await assert.rejects(loadClientAuth(file), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.hint, `run "launcho print-auth --host HOST:PORT" on the server and save its output to ${file}`)
      return true
    })
  })

  test('oversized body → 413, malformed JSON → 400, and the server still answers', async () => {
    const headers = {authorization: `Bearer ${authA.token}`, 'content-type': 'application/json'}
    const big = await raw(port, authA.cert, {method: 'POST', path: '/v1/echo', headers, body: JSON.stringify({x: 'a'.repeat(3 * 1024 * 1024)})})
    assert.equal(big.status, 413)
    assert.equal(big.json.error?.code, 'payload_too_large')
    const bad = await raw(port, authA.cert, {method: 'POST', path: '/v1/echo', headers, body: '{"x": '})
    assert.equal(bad.status, 400)
    assert.equal(bad.json.error?.code, 'invalid_request')
    const client = new ApiClient(clientAuth)
    assert.deepEqual(await client.transport.request('POST', '/v1/echo', {json: {x: 1}}), {echo: {x: 1}})
    assert.equal((await client.ping()).ok, true)
  })

  test('server errors reach the client typed; internals stay in the log', async () => {
    const client = new ApiClient(clientAuth)
    await assert.rejects(client.transport.request('GET', '/v1/conflict'), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'conflict')
      assert.equal(error.hint, 'wait for it, or run "launcho status"')
      return true
    })
    await assert.rejects(client.transport.request('GET', '/v1/crash'), (error: unknown) => {
      assert.ok(error instanceof LaunchoError)
      assert.equal(error.code, 'internal')
      assert.doesNotMatch(error.message, /secret internals/)
      return true
    })
    await assert.rejects(client.transport.request('GET', '/v1/nope'), (error: unknown) => error instanceof LaunchoError && error.code === 'not_found')
    assert.ok(logLines.some((line) => line.includes('secret internals exploded')))
  })

  test('a closed port gives "no launcho server is listening"', async () => {
    const other = await createApiServer({auth: authB, logger: pino({level: 'silent'}), register() {}})
    const {port: freePort} = await other.listen('127.0.0.1', 0)
    await other.close()
    const client = new ApiClient({...clientAuth, host: `127.0.0.1:${freePort}`})
    await assert.rejects(client.ping(), new RegExp(`^LaunchoError: no launcho server is listening at 127\\.0\\.0\\.1:${freePort}$`))
  })

  test('TLS 1.2 with a non-AEAD cipher is refused', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({host: '127.0.0.1', port, ca: authA.cert, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:AES128-SHA'})
      socket.once('secureConnect', () => {
        socket.destroy()
        resolve('connected')
      })
      socket.once('error', () => resolve('refused'))
    })
    assert.equal(outcome, 'refused')
  })

  test('the token and the Authorization header never reach the log', () => {
    const log = logLines.join('')
    assert.ok(log.length > 0)
    assert.ok(!log.includes(authA.token), 'token logged')
    assert.ok(!log.includes(authA.key.split('\n')[1] ?? 'unreachable'), 'private key logged')
    assert.doesNotMatch(log, /Bearer /)
  })
})
