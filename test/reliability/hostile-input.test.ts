/**
 * Hostile API input against the real server: every route (enumerated from the route modules the
 * daemon registers) without a token, with wrong and malformed tokens; malformed and oversized
 * bodies; YAML alias bombs and deep nesting through the real `t set`; huge strings; bytes that are
 * not UTF-8; path tricks in every name and id; and slow clients holding connections while others
 * are served. Expected each time: a 401 or another 4xx, no crash, bounded memory, nothing stored.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {pino} from 'pino'
import {createApiServer} from '../../src/api/server.js'
import {loadOrCreateServerAuth} from '../../src/api/server-auth.js'
import {registerEventRoutes} from '../../src/api/routes/events.js'
import {registerLogRoutes} from '../../src/api/routes/logs.js'
import {registerProcessRoutes} from '../../src/api/routes/processes.js'
import {registerReleaseRoutes} from '../../src/api/routes/releases.js'
import {registerRunRoutes} from '../../src/api/routes/run.js'
import {registerUnitRoutes} from '../../src/api/routes/units.js'
import {registerResourceRoutes} from '../../src/api/routes/resources.js'
import {registerSecretRoutes} from '../../src/api/routes/secrets.js'
import {registerStatusRoutes} from '../../src/api/routes/status.js'
import {registerTargetRoutes} from '../../src/api/routes/target.js'
import {Harness, repoRoot, waitFor} from '../helpers/harness.js'
import {type Answer, credentials, NetAgent} from './helpers/agent.js'
import {assertNoLeaks, peakRssMb, say, sha256} from './helpers/common.js'

const TARGET = `processes:
  - name: web
    command: ["sleep", "100000"]
    env:
      PASSWORD: "\${DB_PASS}"
`
const MEMORY_LIMIT_MB = 300

interface Route {
  method: string
  url: string
}

/** What an unauthenticated `POST /v1/run` would make if it ran. */
const PWNED = `/var/tmp/launcho-pwned-${process.pid}`

/** The API's routes, from the same route modules daemon.ts registers (no daemon needed). */
async function enumerateRoutes(stateDir: string): Promise<Route[]> {
  const daemonSource = await readFile(join(repoRoot, 'src', 'daemon', 'daemon.ts'), 'utf8')
  const registered = [...daemonSource.matchAll(/\b(register\w+Routes)\(/g)].map((m) => m[1]).sort()
  const known = [
    ...['registerEventRoutes', 'registerLogRoutes', 'registerProcessRoutes', 'registerReleaseRoutes', 'registerResourceRoutes', 'registerRunRoutes'],
    ...['registerSecretRoutes', 'registerStatusRoutes', 'registerTargetRoutes', 'registerUnitRoutes'],
  ]
  assert.deepEqual(registered, known, 'daemon.ts registers route modules this suite does not enumerate; add them to hostile-input.test.ts')
  const routes: Route[] = []
  const stub = {} as never
  const api = await createApiServer({
    auth: await loadOrCreateServerAuth(stateDir, '127.0.0.1:1'),
    logger: pino({level: 'silent'}),
    register(app) {
      app.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) routes.push({method, url: route.url ?? route.path})
      })
      registerTargetRoutes(app, stub, stub)
      registerSecretRoutes(app, stub, stub)
      registerStatusRoutes(app, stub)
      registerEventRoutes(app, stub)
      registerLogRoutes(app, stub, () => undefined)
      registerProcessRoutes(app, stub, stub)
      registerResourceRoutes(app, stub, {users: () => new Map(), remove: (_id, remove) => remove()})
      registerReleaseRoutes(app, stub, stub)
      registerRunRoutes(app, stub)
      registerUnitRoutes(app, stub)
    },
  })
  await api.app.ready()
  await api.close()
  // /v1/ping is the shell's own, registered before the hook.
  routes.push({method: 'GET', url: '/v1/ping'}, {method: 'HEAD', url: '/v1/ping'})
  const unique = new Map(routes.map((route) => [`${route.method} ${route.url}`, route]))
  return [...unique.values()].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))
}

describe('hostile API input', () => {
  let h: Harness
  let agent: NetAgent
  let ca = ''
  let token = ''
  let resourceId = ''
  const secret = `s3cret-${randomBytes(12).toString('hex')}`
  let cases = 0
  let before0: Awaited<ReturnType<typeof snapshot>>

  /** What must not change: stored files, resources, units and their main PIDs. */
  async function snapshot() {
    const read = (name: string) => readFile(join(h.stateDir, name), 'utf8').catch(() => '<absent>')
    const units = await h.units()
    return {
      target: await read('target.yaml'),
      secrets: await read('secrets.json'),
      restarts: await read('restarts.json'),
      resources: (await readdir(join(h.stateDir, 'resources'))).sort(),
      stateDir: (await readdir(h.stateDir)).sort(),
      units: await Promise.all(units.map(async (u) => `${u} ${(await h.unit(u, ['MainPID'])).MainPID}`)),
    }
  }

  before(async () => {
    h = await Harness.start()
    agent = await NetAgent.start(h.sandbox.netns)
    ;({ca, token} = await credentials(h))
    await h.ok(['secret', 'set', 'DB_PASS', secret])
    await h.setTarget(TARGET)
    resourceId = (await h.ok(['resource', 'up', await h.writeFile('r.txt', 'resource\n')])).trim()
    await waitFor('web running', async () => (await h.status()).processes[0]?.state === 'running')
    before0 = await snapshot()
  })
  after(async () => {
    await agent?.close()
    await h?.close()
  })

  const send = (method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string, timeoutMs?: number) =>
    agent.request({port: h.port, ca, method, path, headers, ...(body !== undefined ? {body} : {}), ...(timeoutMs ? {timeoutMs} : {})})
  const auth = () => ({authorization: `Bearer ${token}`})
  const json = () => ({...auth(), 'content-type': 'application/json'})

  /** Records one case: what was sent, what came back, and whether that was acceptable. */
  function check(t: TestContext, failures: string[], what: string, answer: Answer, ok: (status: number) => boolean, extra?: (a: Answer) => string | undefined) {
    cases++
    const seen = answer.status === undefined ? `no answer (${answer.error})` : `${answer.status}${answer.text ? ` ${answer.text.slice(0, 110).replace(/\s+/g, ' ')}` : ''}`
    t.diagnostic(`${what} → ${seen}`)
    const problem = answer.status === undefined ? `no HTTP answer: ${answer.error}` : !ok(answer.status) ? `status ${answer.status}` : extra?.(answer)
    if (problem) failures.push(`${what}: ${problem} (${seen})`)
  }
  const is4xx = (status: number) => status >= 400 && status < 500

  it('every route refuses a missing, wrong or malformed token with 401 and changes nothing', async (t) => {
    const routes = await enumerateRoutes(join(h.dir, 'enumerate-state'))
    say(t, `routes: ${routes.map((r) => `${r.method} ${r.url}`).join(', ')}`)
    assert.ok(routes.length >= 17, `only ${routes.length} routes found`)
    const fill = (url: string) =>
      url.replace(':name', 'DB_PASS').replace(':process', 'web').replace(':id', resourceId).replace(':number', '1')
    const wrongTokens: Array<[string, Record<string, string>]> = [
      ['no token', {}],
      ['random token', {authorization: `Bearer ${randomBytes(32).toString('hex')}`}],
      ['token minus a char', {authorization: `Bearer ${token.slice(0, -1)}`}],
      ['token plus a char', {authorization: `Bearer ${token}0`}],
      ['token in upper case', {authorization: `Bearer ${token.toUpperCase()}`}],
      ['Basic scheme', {authorization: `Basic ${Buffer.from(`launcho:${token}`).toString('base64')}`}],
      ['empty Bearer', {authorization: 'Bearer '}],
      ['two tokens', {authorization: `Bearer ${token} ${token}`}],
      ['token in a query instead', {}],
    ]
    const failures: string[] = []
    for (const route of routes) {
      const path = fill(route.url)
      const body =
        route.url === '/v1/target' || route.url === '/v1/target/diff'
          ? {type: 'application/json', data: JSON.stringify({text: 'processes: []\n'})}
          : route.url === '/v1/secrets/:name'
            ? {type: 'application/json', data: JSON.stringify({value: 'pwned-value'})}
            : route.url === '/v1/run'
              ? {type: 'application/json', data: JSON.stringify({name: 'web', argv: ['/bin/touch', PWNED]})}
              : route.url === '/v1/resources' && route.method === 'PUT'
              ? {type: 'application/octet-stream', data: 'pwned', extra: {'x-launcho-sha256': sha256('pwned')}}
              : undefined
      for (const [label, headers] of wrongTokens) {
        const query = label === 'token in a query instead' ? `${path.includes('?') ? '&' : '?'}token=${token}&access_token=${token}` : ''
        const answer = await send(
          route.method,
          `${path}${query}`,
          {...headers, ...(body ? {'content-type': body.type, ...(body.extra ?? {})} : {})},
          ['GET', 'HEAD', 'DELETE'].includes(route.method) ? undefined : body?.data,
        )
        check(t, failures, `${route.method} ${path} [${label}]`, answer, (s) => s === 401, (a) => (route.method !== 'HEAD' && !/"code":"unauthorized"/.test(a.text) ? 'no unauthorized error body' : undefined))
      }
    }
    check(t, failures, 'GET /v1/no-such-route [no token]', await send('GET', '/v1/no-such-route'), (s) => s === 401)
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), before0, 'nothing stored, removed or restarted')
    assert.equal(existsSync(PWNED), false, 'no command was run')
    say(t, `${cases} unauthenticated requests, all 401`)
  })

  it('malformed and oversized bodies get a 4xx and change nothing', async (t) => {
    const baseline = await snapshot()
    const failures: string[] = []
    const start = cases
    const bodies: Array<[string, string, Record<string, string>, Buffer | string | undefined]> = [
      ['invalid JSON', '{"text": ', json(), undefined],
      ['JSON array', '[1,2,3]', json(), undefined],
      ['JSON null', 'null', json(), undefined],
      ['text is a number', JSON.stringify({text: 5}), json(), undefined],
      ['text is an object', JSON.stringify({text: {processes: []}}), json(), undefined],
      ['empty body with JSON type', '', json(), undefined],
      ['__proto__ key', '{"__proto__": {"text": "processes: []"}, "text": 1}', json(), undefined],
      ['constructor.prototype', '{"constructor": {"prototype": {"text": "x"}}}', json(), undefined],
      ['text/plain', 'processes: []\n', {...auth(), 'content-type': 'text/plain'}, undefined],
      ['no content type', 'processes: []\n', auth(), undefined],
      ['form encoded', 'text=processes%3A+%5B%5D', {...auth(), 'content-type': 'application/x-www-form-urlencoded'}, undefined],
      ['3 MiB JSON', JSON.stringify({text: `# ${'x'.repeat(3 * 1024 * 1024)}\nprocesses: []\n`}), json(), undefined],
      ['1 MiB + 1 byte of YAML', JSON.stringify({text: `processes: []\n#${'y'.repeat(1024 * 1024 - 14)}`}), json(), undefined],
      ['JSON nested 200k deep', `{"text": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`, json(), undefined],
      ['content-length larger than the body', JSON.stringify({text: 'processes: []\n'}), {...json(), 'content-length': '999'}, undefined],
    ]
    for (const [label, data, headers] of bodies) {
      for (const [method, path] of [['PUT', '/v1/target'], ['POST', '/v1/target/diff']] as const) {
        const answer = await send(method, path, headers, data, label === 'content-length larger than the body' ? 3_000 : 8_000)
        // A body shorter than its content-length never completes: the server waits for the rest
        // (its idle timeout ends it) and must not act on what it has.
        if (label === 'content-length larger than the body' && answer.error === 'ETIMEDOUT') {
          cases++
          t.diagnostic(`${method} ${path} [${label}] → no answer while the body is incomplete (client gave up after 3 s)`)
          continue
        }
        check(t, failures, `${method} ${path} [${label}]`, answer, is4xx)
      }
    }
    const secretBodies: Array<[string, string]> = [
      ['value is a number', JSON.stringify({value: 1})],
      ['value missing', JSON.stringify({})],
      ['value is a list', JSON.stringify({value: ['a']})],
      ['value of 1 MiB + 8 KiB', JSON.stringify({value: 'v'.repeat(1024 * 1024 + 8192)})],
      ['invalid JSON', '{"value": "abc'],
    ]
    for (const [label, data] of secretBodies) {
      check(t, failures, `PUT /v1/secrets/DB_PASS [${label}]`, await send('PUT', '/v1/secrets/DB_PASS', json(), data), is4xx)
    }
    const put = (headers: Record<string, string>, data?: string) => send('PUT', '/v1/resources', {...auth(), ...headers}, data)
    const octet = {'content-type': 'application/octet-stream'}
    check(t, failures, 'PUT /v1/resources [no sha header]', await put(octet, 'abc'), is4xx)
    check(t, failures, 'PUT /v1/resources [sha of other content]', await put({...octet, 'x-launcho-sha256': sha256('other')}, 'abc'), is4xx)
    check(t, failures, 'PUT /v1/resources [sha not hex]', await put({...octet, 'x-launcho-sha256': 'z'.repeat(64)}, 'abc'), is4xx)
    check(t, failures, 'PUT /v1/resources [sha upper case]', await put({...octet, 'x-launcho-sha256': sha256('abc').toUpperCase()}, 'abc'), is4xx)
    check(t, failures, 'PUT /v1/resources [JSON body]', await put({'content-type': 'application/json', 'x-launcho-sha256': sha256('{}')}, '{}'), is4xx)
    check(t, failures, 'PUT /v1/resources [content-length 1 TiB, no body]', await put({...octet, 'x-launcho-sha256': sha256('x'), 'content-length': String(1024 ** 4)}), is4xx)
    const queries = ['/v1/status?events=99999999999999999999', '/v1/status?events=-5', '/v1/status?events=abc', '/v1/status?events[]=1&events[]=2']
    for (const path of queries) {
      // Bad counts fall back to the default: a 200 with at most 500 events, never a 5xx.
      check(t, failures, `GET ${path}`, await send('GET', path, auth()), (s) => s === 200, (a) => ((JSON.parse(a.text) as {events: unknown[]}).events.length > 500 ? 'more than 500 events' : undefined))
    }
    for (const query of ['lines=-1', 'lines=1e9', 'lines=99999999999', 'since=%3Brm%20-rf%20%2F', 'since=%24(id)', `since=${'1'.repeat(100)}`, 'follow=maybe', 'allVersions=2']) {
      check(t, failures, `GET /v1/logs/web?${query}`, await send('GET', `/v1/logs/web?${query}`, auth()), is4xx)
    }
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), baseline, 'nothing stored')
    say(t, `${cases - start} malformed or oversized requests, all 4xx`)
  })

  it('YAML alias bombs and deep nesting in t set are refused quickly with a clear message', async (t) => {
    const baseline = await snapshot()
    const rssBefore = await peakRssMb(h.server!.pid!)
    const laughs = ['lol: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i <= 9; i++) laughs.push(`l${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`)
    const nestedMaps = Array.from({length: 400}, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' x\n'
    const docs: Array<[string, string, RegExp]> = [
      ['billion laughs', `${laughs.join('\n')}\nprocesses: []\n`, /too many aliases/],
      ['billion laughs inside a process', `processes:\n  - name: web\n    command: ["sleep", "1"]\n    env: &e {A: "1"}\nx: &b [${Array(200).fill('*e').join(',')}]\n`, /too many aliases|unknown key/],
      ['100 000 nested flow sequences', `processes: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, /nested more than 64 levels/],
      ['400 nested block maps', `processes: []\n${nestedMaps}`, /nested more than 64 levels/],
      ['100 000 nested flow maps', `processes: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`, /nested more than 64 levels/],
      ['an alias to itself', 'processes: &a [*a]\n', /alias|anchor|must be a map/],
      ['1 MiB of "["', `processes: ${'['.repeat(520_000)}\n`, /nested more than 64 levels/],
      ['1 MiB of "{a: "', `processes: ${'{a: '.repeat(260_000)}\n`, /nested more than 64 levels/],
      ['an undefined alias', 'processes: *nothing\n', /has no anchor/],
      ['python object tag', 'processes: !!python/object/apply:os.system ["id"]\n', /processes|tag|must be/i],
      ['40 000 processes (1.1 MB)', `processes:\n${'  - {name: p, command: [x]}\n'.repeat(40_000)}`, /limit is 1 MiB|invalid target|unique/],
      ['two documents', 'processes: []\n---\nprocesses: []\n', /single YAML document/],
    ]
    const failures: string[] = []
    for (const [label, text, message] of docs) {
      const started = Date.now()
      const file = await h.writeFile('hostile.yaml', text)
      const result = await h.cli(['t', 'set', file])
      const ms = Date.now() - started
      cases++
      const first = `${result.stderr}`.split('\n').slice(0, 2).join(' ').slice(0, 160)
      t.diagnostic(`t set [${label}, ${text.length} bytes] → exit ${result.code} in ${ms} ms: ${first}`)
      if (result.code === 0) failures.push(`${label}: accepted`)
      else if (!message.test(result.stderr)) failures.push(`${label}: unclear message: ${first}`)
      if (ms > 10_000) failures.push(`${label}: took ${ms} ms`)
      const diff = await h.cli(['t', 'diff', file])
      cases++
      t.diagnostic(`t diff [${label}] → exit ${diff.code}`)
      if (diff.code === 0) failures.push(`${label}: t diff accepted it`)
    }
    assert.deepEqual(failures, [])
    assert.ok(h.server!.exitCode === null && h.server!.signalCode === null, 'server alive')
    assert.deepEqual(await snapshot(), baseline, 'nothing stored')
    const rss = await peakRssMb(h.server!.pid!)
    say(t, `server peak RSS ${rssBefore} MB before the YAML cases, ${rss} MB after`)
    assert.ok(rss < MEMORY_LIMIT_MB, `server peak RSS ${rss} MB`)
  })

  it('huge strings and names are refused with a 4xx', async (t) => {
    const baseline = await snapshot()
    const failures: string[] = []
    const start = cases
    for (const length of [200, 4_000, 15_000]) {
      const name = 'A'.repeat(length)
      check(t, failures, `PUT /v1/secrets/<${length}×A>`, await send('PUT', `/v1/secrets/${name}`, json(), JSON.stringify({value: 'x'})), is4xx)
      check(t, failures, `GET /v1/secrets/<${length}×A>`, await send('GET', `/v1/secrets/${name}`, auth()), is4xx)
      check(t, failures, `POST /v1/processes/<${length}×a>/restart`, await send('POST', `/v1/processes/${'a'.repeat(length)}/restart`, auth()), is4xx)
      check(t, failures, `GET /v1/resources/<${length}×f>`, await send('GET', `/v1/resources/${'f'.repeat(length)}`, auth()), is4xx)
      check(t, failures, `GET /v1/logs/<${length}×a>`, await send('GET', `/v1/logs/${'a'.repeat(length)}`, auth()), is4xx)
    }
    check(t, failures, 'GET /v1/ping with a 64 KiB header', await send('GET', '/v1/ping', {...auth(), 'x-big': 'b'.repeat(64 * 1024)}), is4xx)
    check(t, failures, 'GET /v1/ping with 500 headers', await send('GET', '/v1/ping', {...auth(), ...Object.fromEntries(Array.from({length: 500}, (_, i) => [`x-h${i}`, 'v']))}), (s) => s === 200 || is4xx(s))
    check(t, failures, 'PUT /v1/resources with a 10 KiB name', await send('PUT', '/v1/resources', {...auth(), 'content-type': 'application/octet-stream', 'x-launcho-sha256': sha256('n'), 'x-launcho-name': 'n'.repeat(10_000)}, 'n'), is4xx)
    const longProcess = `processes:\n  - name: ${'p'.repeat(5_000)}\n    command: ["sleep", "1"]\n`
    check(t, failures, 'PUT /v1/target with a 5000-character process name', await send('PUT', '/v1/target', json(), JSON.stringify({text: longProcess})), is4xx, (a) => (a.text.length > 4_000 ? `error body of ${a.text.length} bytes echoes the input` : undefined))
    const manyErrors = `processes:\n${'  - {name: "BAD NAME", command: 5}\n'.repeat(5_000)}`
    check(t, failures, 'PUT /v1/target with 10 000 problems', await send('PUT', '/v1/target', json(), JSON.stringify({text: manyErrors})), is4xx, (a) => (a.text.length > 64 * 1024 ? `error body of ${a.text.length} bytes` : undefined))
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), baseline, 'nothing stored')
    say(t, `${cases - start} requests with huge strings, all 4xx`)
  })

  it('bytes that are not UTF-8 are refused, not stored as something else', async (t) => {
    const baseline = await snapshot()
    const failures: string[] = []
    const start = cases
    const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28])
    const targetWith = (place: Buffer) => Buffer.concat([Buffer.from('{"text": "processes: []\\n# comment '), place, Buffer.from('\\n"}')])
    check(t, failures, 'PUT /v1/target with invalid UTF-8 in a comment', await send('PUT', '/v1/target', json(), targetWith(bad)), is4xx)
    check(t, failures, 'POST /v1/target/diff with invalid UTF-8', await send('POST', '/v1/target/diff', json(), targetWith(bad)), is4xx)
    check(t, failures, 'PUT /v1/target as UTF-16', await send('PUT', '/v1/target', json(), Buffer.from(JSON.stringify({text: 'processes: []\n'}), 'utf16le')), is4xx)
    check(t, failures, 'PUT /v1/secrets/DB_PASS with invalid UTF-8 in the value', await send('PUT', '/v1/secrets/DB_PASS', json(), Buffer.concat([Buffer.from('{"value": "'), bad, Buffer.from('"}')])), is4xx)
    check(t, failures, 'GET /v1/secrets/%FF%FE', await send('GET', '/v1/secrets/%FF%FE', auth()), is4xx)
    check(t, failures, 'PUT /v1/resources with a raw non-UTF-8 name header', await send('PUT', '/v1/resources', {...auth(), 'content-type': 'application/octet-stream', 'x-launcho-sha256': sha256('u'), 'x-launcho-name': '%FF%FE'}, 'u'), is4xx)
    // Raw bytes on the wire, where no HTTP client library would let them through.
    const rawCases: Array<[string, Buffer]> = [
      ['0xFF in the request path', Buffer.concat([Buffer.from('GET /v1/secrets/'), bad, Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)])],
      ['0xFF in a header name', Buffer.concat([Buffer.from('GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-'), bad, Buffer.from(`: 1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)])],
      ['NUL in the path', Buffer.from(`GET /v1/secrets/DB\0PASS HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)],
      ['a bare LF request', Buffer.from(`GET /v1/ping HTTP/1.1\nHost: x\nAuthorization: Bearer ${token}\nConnection: close\n\n`)],
      ['content-length and chunked together', Buffer.from(`PUT /v1/target HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`)],
      ['two content-lengths', Buffer.from(`PUT /v1/target HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 30\r\nConnection: close\r\n\r\n{}`)],
      ['HTTP/0.9 style', Buffer.from('GET /v1/ping\r\n\r\n')],
      ['garbage', randomBytes(2048)],
    ]
    for (const [label, bytes] of rawCases) {
      const reply = await agent.raw(h.port, bytes, 5_000)
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply.reply)?.[1] ?? 0)
      cases++
      t.diagnostic(`raw [${label}] → ${status || 'connection closed without an answer'}${reply.closed ? '' : ' (still open after 5 s)'}`)
      if (status !== 0 && !is4xx(status)) failures.push(`raw ${label}: ${status}`)
    }
    // The CLI reads files as bytes: it must refuse them too, not send U+FFFD in their place.
    const badTarget = await h.writeFile('latin1-target.yaml', '')
    await writeFile(badTarget, Buffer.concat([Buffer.from('processes: []\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]))
    const badSecret = await h.writeFile('binary-secret.bin', '')
    await writeFile(badSecret, Buffer.from([0x00, 0xff, 0x10, 0x80, 0xfe]))
    for (const [label, args] of [['t set of a Latin-1 file', ['t', 'set', badTarget]], ['secret set --from-file of binary data', ['secret', 'set', 'DB_PASS', '--from-file', badSecret]]] as const) {
      const result = await h.cli([...args])
      cases++
      t.diagnostic(`${label} → exit ${result.code}: ${result.stderr.split('\n')[0]}`)
      if (result.code === 0 || !/not valid UTF-8/.test(result.stderr)) failures.push(`${label}: exit ${result.code} ${result.stderr.slice(0, 120)}`)
    }
    assert.deepEqual(failures, [])
    const now = await snapshot()
    assert.deepEqual(now, baseline, 'nothing stored')
    assert.equal((await agent.api<{text: string}>(h, 'GET', '/v1/target')).json.text, TARGET, 't get still serves the target byte for byte')
    say(t, `${cases - start} non-UTF-8 or malformed-wire requests, all refused`)
  })

  it('path tricks in every name and id are refused and reach no file', async (t) => {
    const baseline = await snapshot()
    const failures: string[] = []
    const start = cases
    const tricks = [
      '..', '.', '%2e%2e', '..%2f..%2ftarget.yaml', '..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2fsecrets.json', '..%5c..%5csecrets.json',
      'DB_PASS%00', 'DB_PASS%00.json', '%00', 'DB_PASS%0d%0aX-Injected:%201', 'a%2fb', '%252e%252e%252f', '-rf', '--root=%2f', '*', 'web%20--since=x',
      '%C0%AE%C0%AE%2F', '\u2025'.normalize(), '%E2%80%A5', 'db_pass%2F..%2F..',
    ]
    const id64 = resourceId
    const routes: Array<[string, (x: string) => string, string?]> = [
      ['GET', (x) => `/v1/secrets/${x}`],
      ['PUT', (x) => `/v1/secrets/${x}`, JSON.stringify({value: 'pwned-by-path'})],
      ['DELETE', (x) => `/v1/secrets/${x}`],
      ['POST', (x) => `/v1/processes/${x}/restart`],
      ['GET', (x) => `/v1/resources/${x}`],
      ['GET', (x) => `/v1/resources/${x}/content`],
      ['DELETE', (x) => `/v1/resources/${x}`],
      ['GET', (x) => `/v1/logs/${x}`],
      ['GET', (x) => `/v1/resources/${id64}${x}`],
      ['GET', (x) => `/v1/resources/${id64.slice(0, 8)}${x}/content`],
    ]
    for (const trick of tricks) {
      for (const [method, path, body] of routes) {
        const answer = await send(method, path(encodeURI(trick).replace(/%25/g, '%')), body ? json() : auth(), body)
        check(t, failures, `${method} ${path(trick)}`, answer, is4xx, (a) => (/root:x:0:0|BEGIN|PRIVATE/.test(a.text) ? 'leaked file content' : undefined))
      }
    }
    // The resource name header is shown in listings: it must not smuggle paths or control characters.
    for (const name of ['..%2F..%2Fevil', '%0A%0D', '%00']) {
      const answer = await send('PUT', '/v1/resources', {...auth(), 'content-type': 'application/octet-stream', 'x-launcho-sha256': sha256(`n-${name}`), 'x-launcho-name': name}, `n-${name}`)
      const ok = name === '..%2F..%2Fevil' ? (s: number) => s === 201 || is4xx(s) : is4xx
      check(t, failures, `PUT /v1/resources [name ${name}]`, answer, ok)
      if (answer.status === 201) {
        const id = sha256(`n-${name}`)
        const files = await readdir(join(h.stateDir, 'resources'))
        if (!files.includes(id)) failures.push('uploaded resource stored under another name')
        await send('DELETE', `/v1/resources/${id}`, auth())
      }
    }
    assert.deepEqual(failures, [])
    assert.deepEqual(await snapshot(), baseline, 'nothing stored, removed or restarted')
    const secretsHere = (await agent.api<{names: string[]}>(h, 'GET', '/v1/secrets')).json.names
    assert.deepEqual(secretsHere, ['DB_PASS'])
    say(t, `${cases - start} path-trick requests across ${routes.length} routes, all 4xx`)
  })

  it('slow clients (50 header dribblers, 10 unauthenticated body dribblers, 20 silent sockets) for 15 s do not keep others from being served', async (t) => {
    const headers = agent.slowloris(h.port, 50, 15, 1_000, 'header')
    const bodies = agent.slowloris(h.port, 10, 15, 1_000, 'body')
    const silent = agent.slowloris(h.port, 20, 15, 1_000, 'silent')
    const other = await NetAgent.start(h.sandbox.netns)
    const latencies: number[] = []
    const failed: string[] = []
    let cliOk = 0
    try {
      const started = Date.now()
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      while (Date.now() - started < 14_000) {
        const answer = await other.request({port: h.port, ca, method: 'GET', path: '/v1/target', headers: auth(), timeoutMs: 5_000})
        latencies.push(answer.ms)
        if (answer.status !== 200) failed.push(answer.error ?? String(answer.status))
        if (latencies.length % 10 === 0) {
          const cli = await h.cli(['status'])
          if (cli.code === 0) cliOk++
          else failed.push(`cli status: ${cli.stderr.slice(0, 100)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    } finally {
      await other.close()
    }
    const [slowHeaders, slowBodies, quiet] = await Promise.all([headers, bodies, silent])
    cases += 80 + latencies.length
    const closed = (r: {closedAt: Array<number | null>}) => r.closedAt.filter((ms): ms is number => ms !== null).sort((a, b) => a - b)
    const describe = (r: {closedAt: Array<number | null>; handshaken: number}) => {
      const c = closed(r)
      return `${r.handshaken} connected, ${c.length} cut by the server within 15 s${c.length ? ` (at ${c[0]}–${c.at(-1)} ms)` : ''}`
    }
    const max = Math.max(...latencies)
    const p50 = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)]
    say(t, `header dribblers (a header byte per second): ${describe(slowHeaders)}`)
    say(t, `unauthenticated body dribblers: ${describe(slowBodies)}; answers ${slowBodies.answers.join(',') || 'none'}`)
    say(t, `silent TCP sockets (no TLS hello): ${describe(quiet)}`)
    say(t, `meanwhile: ${latencies.length} GET /v1/target (p50 ${p50} ms, max ${Math.round(max)} ms), ${cliOk} CLI status calls; failures: ${failed.length}`)
    assert.equal(slowHeaders.handshaken, 50)
    assert.deepEqual(failed, [])
    assert.ok(max < 2_000, `a request took ${max} ms during the attack`)
    const cutHeaders = closed(slowHeaders)
    assert.equal(cutHeaders.length, 50, 'the server cuts connections whose headers do not arrive within its 10 s headers timeout')
    assert.ok(cutHeaders[0]! >= 9_000 && cutHeaders.at(-1)! <= 13_000, `headers timeout enforced at ${cutHeaders[0]}–${cutHeaders.at(-1)} ms, not about 10 s`)
    assert.deepEqual([...new Set(slowBodies.answers)], ['401'], 'body dribblers without a token get a 401 at once')
    assert.equal(closed(slowBodies).length, 10, 'and their connection is closed, not kept open for the rest of the body')
    const cutQuiet = closed(quiet)
    assert.equal(cutQuiet.length, 20, 'sockets that never start TLS are cut after the handshake timeout')
    assert.ok(cutQuiet.at(-1)! <= 13_000, `silent sockets cut at ${cutQuiet[0]}–${cutQuiet.at(-1)} ms`)
  })

  it('after all of it: the server is alive, its memory bounded, the secret not logged', async (t) => {
    assert.ok(h.server!.exitCode === null && h.server!.signalCode === null, 'server alive')
    const ping = await agent.api<{ok: boolean}>(h, 'GET', '/v1/ping')
    assert.equal(ping.json.ok, true)
    const peak = await peakRssMb(h.server!.pid!)
    assert.ok(peak < MEMORY_LIMIT_MB, `server peak RSS ${peak} MB`)
    assert.deepEqual(await snapshot(), before0)
    const searched = await assertNoLeaks(h, [secret, token])
    say(t, `${cases} hostile cases in all; server alive, peak RSS (VmHWM) ${peak} MB < ${MEMORY_LIMIT_MB} MB; state and units unchanged; secret and token absent from ${searched.serverLogBytes} bytes of server log and ${searched.journalBytes} bytes of journal`)
  })

  it(
    'a target of 37 000 tiny processes (just under the 1 MiB limit) is refused without stalling the server',
    async (t) => {
      const baseline = await snapshot()
      const text = `processes:\n${'  - {name: p, command: [x]}\n'.repeat(37_000)}`
      const probe = await NetAgent.start(h.sandbox.netns)
      let stop = false
      const pings: number[] = []
      const pinging = (async () => {
        while (!stop) {
          const answer = await probe.request({port: h.port, ca, method: 'GET', path: '/v1/ping', headers: auth(), timeoutMs: 30_000})
          pings.push(answer.ms)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })()
      const started = Date.now()
      const answer = await send('PUT', '/v1/target', json(), JSON.stringify({text}), 60_000)
      const ms = Date.now() - started
      stop = true
      await pinging
      await probe.close()
      cases++
      const rss = await peakRssMb(h.server!.pid!)
      const worstPing = Math.round(Math.max(...pings))
      say(t, `PUT /v1/target with ${text.length} bytes (37 000 processes, all named "p") → ${answer.status} ${answer.text.slice(0, 160)} in ${ms} ms; meanwhile the slowest of ${pings.length} pings took ${worstPing} ms; server peak RSS ${rss} MB`)
      assert.ok(answer.status !== undefined && is4xx(answer.status), `status ${answer.status}`)
      assert.match(answer.text, /YAML tokens/)
      assert.deepEqual(await snapshot(), baseline, 'nothing stored')
      assert.ok(worstPing < 1_000, `the API stalled for ${worstPing} ms`)
      assert.ok(rss < MEMORY_LIMIT_MB, `server peak RSS ${rss} MB`)
    },
  )
})
