/**
 * TLS and secrets against the real server: only TLS 1.2+ with forward-secret AEAD suites (probed
 * from inside the sandbox network with openssl s_client and Node's tls, with the client's own
 * floor lowered so that any refusal is the server's); the CLI refuses a server with another
 * certificate before sending its token; the token comparison is constant-time by construction (a
 * statistical timing test would be flaky, so the implementation property is asserted instead);
 * secret values and the token never reach the log, the journal, status, events or error
 * messages; files under the state dir have the README's permissions even under umask 000.
 */
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {tokenMatches} from '../../src/api/token.js'
import {Harness, launchoBin, repoRoot, waitFor} from '../helpers/harness.js'
import {credentials, NetAgent} from './helpers/agent.js'
import {assertNoLeaks, say} from './helpers/common.js'
import {startServer} from './helpers/server.js'

const run = promisify(execFile)

describe('TLS: only modern versions and AEAD suites', () => {
  let h: Harness
  let agent: NetAgent
  before(async () => {
    h = await Harness.start()
    agent = await NetAgent.start(h.sandbox.netns)
  })
  after(async () => {
    await agent?.close()
    await h?.close()
  })

  /** openssl s_client from inside the sandbox network; never verifies, only handshakes. */
  async function sClient(args: string[]): Promise<{ok: boolean; out: string}> {
    const [nsenter, ...prefix] = h.sandbox.inNetwork()
    // stdin at EOF: s_client handshakes, reports, and closes.
    const child = spawn(nsenter!, [...prefix, 'openssl', 's_client', '-connect', `127.0.0.1:${h.port}`, '-brief', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    clearTimeout(timer)
    return {ok: code === 0 && /CONNECTION ESTABLISHED/i.test(out), out}
  }

  // Each refused probe lowers the client's own floor (SECLEVEL=0), so the refusal is the server's:
  // it must come back as a TLS alert from the server, not as "no protocols available" locally.
  const refused: Array<[string, string[]]> = [
    ['TLS 1.0', ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0']],
    ['TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']],
    ['TLS 1.2 ECDHE-ECDSA-AES128-SHA (CBC)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0']],
    ['TLS 1.2 ECDHE-ECDSA-AES256-SHA384 (CBC)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0']],
    ['TLS 1.2 ECDHE-ECDSA-AES128-SHA256 (CBC)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0']],
    ['TLS 1.2 AES128-GCM-SHA256 (no forward secrecy)', ['-tls1_2', '-cipher', 'AES128-GCM-SHA256:@SECLEVEL=0']],
    ['TLS 1.2 ECDHE-ECDSA-NULL-SHA (no encryption)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0']],
  ]
  const accepted: Array<[string, string[]]> = [
    ['TLS 1.3', ['-tls1_3']],
    ['TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']],
    ['TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']],
    ['TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305']],
  ]

  it('openssl s_client: TLS 1.0/1.1 and non-AEAD or non-forward-secret TLS 1.2 suites are refused by the server', async (t) => {
    for (const [label, args] of refused) {
      const result = await sClient(args)
      const alert = /alert [a-z ]+|no shared cipher|handshake failure|protocol version/i.exec(result.out)?.[0] ?? result.out.trim().split('\n').at(-1)
      say(t, `${label} → ${result.ok ? 'CONNECTED' : `refused (${alert})`}`)
      assert.equal(result.ok, false, `${label} was accepted:\n${result.out}`)
      assert.match(result.out, /alert (protocol version|handshake failure|insufficient security)/i, `${label}: the refusal must be the server's alert:\n${result.out}`)
    }
  })

  it('openssl s_client: TLS 1.3 and the TLS 1.2 ECDHE AEAD suites connect (the probe works)', async (t) => {
    for (const [label, args] of accepted) {
      const result = await sClient(args)
      const line = /Ciphersuite: \S+|Protocol version: \S+/g
      say(t, `${label} → ${result.ok ? `connected (${[...result.out.matchAll(line)].map((m) => m[0]).join(', ')})` : 'REFUSED'}`)
      assert.equal(result.ok, true, `${label} was refused:\n${result.out}`)
    }
  })

  it("Node's tls with the client floor at TLS 1.0 agrees", async (t) => {
    const probes: Array<[string, {minVersion?: string; maxVersion?: string; ciphers?: string}, boolean]> = [
      ['TLS 1.0', {minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0'}, false],
      ['TLS 1.1', {minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0'}, false],
      ['TLS 1.2 CBC only', {maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0'}, false],
      ['TLS 1.2 default', {maxVersion: 'TLSv1.2'}, true],
      ['default', {}, true],
    ]
    for (const [label, options, ok] of probes) {
      const result = await agent.tls(h.port, options)
      say(t, `${label} → ${result.ok ? `${result.protocol} ${result.cipher}` : `refused: ${result.error}`}`)
      assert.equal(result.ok, ok, label)
      if (ok) assert.match(`${result.protocol} ${result.cipher}`, /TLSv1\.3|GCM|CHACHA20/)
    }
  })
})

describe('the client pins the certificate; the token never goes to an impostor', () => {
  let h: Harness
  /** The impostor's own systemd: a second server on h's would be refused (one server per systemd). */
  let theirs: Harness
  let impostorPid: number | undefined
  before(async () => {
    h = await Harness.start()
    theirs = await Harness.start({server: false})
  })
  after(async () => {
    if (impostorPid) {
      try {
        process.kill(impostorPid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    await h?.close()
    await theirs?.close()
  })

  it('a launcho server with another identity gets neither a request nor the token', async (t) => {
    // The impostor: a real launcho server with its own state dir (its own certificate), in the
    // same network, as whoever took over the address would be (driving a systemd of its own).
    const [nsenter, ...prefix] = h.sandbox.inNetwork()
    const impostor = spawn(nsenter!, [...prefix, process.execPath, launchoBin, 'server', '--state-dir', join(h.dir, 'impostor'), '--listen', '127.0.0.1:0', '--journal-root', theirs.sandbox.journalRoot], {
      env: {...process.env, ...theirs.sandbox.env, LAUNCHO_LOG_LEVEL: 'debug'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    impostorPid = impostor.pid
    let log = ''
    impostor.stdout.on('data', (c) => (log += c))
    impostor.stderr.on('data', (c) => (log += c))
    const port = await waitFor('impostor ready', async () => Number(/"listen":"127\.0\.0\.1:(\d+)".*launcho server ready/.exec(log)?.[1]) || undefined, 20_000, 50)
    const good = await h.readFile(h.authFile)
    const token = /token: "?([0-9a-f]{64})/.exec(good)![1]!
    const pointed = good.replace(/^host: .*$/m, `host: "127.0.0.1:${port}"`)
    for (const args of [['status'], ['t', 'get'], ['secret', 'get', 'X']]) {
      const result = await h.cli([...args, '--auth', await h.writeFile('pointed.yaml', pointed)], {auth: false})
      say(t, `launcho ${args.join(' ')} against the impostor → exit ${result.code}: ${result.stderr.split('\n')[0]}`)
      assert.notEqual(result.code, 0)
      assert.match(result.stderr, /presented a certificate that is not the one in/)
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.doesNotMatch(log, /incoming request/, 'the impostor received no HTTP request')
    assert.ok(!log.includes(token), 'the impostor never saw the token')
    say(t, `impostor log: ${log.split('\n').filter(Boolean).length} lines, no "incoming request", no token`)
    impostor.kill('SIGKILL')
    impostorPid = undefined
  })
})

describe('the token is compared in constant time (an implementation property, not a timing measurement)', () => {
  it('tokenMatches hashes both sides to fixed-length digests and compares them with crypto.timingSafeEqual', async (t) => {
    const source = await readFile(join(repoRoot, 'src', 'api', 'token.ts'), 'utf8')
    const body = /export function tokenMatches\([^)]*\)[^{]*\{([\s\S]*?)\n\}/.exec(source)?.[1]
    assert.ok(body, 'tokenMatches found in src/api/token.ts')
    assert.match(source, /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/)
    assert.match(body, /createHash\('sha256'\)\.update\(presented/, 'the presented token is hashed')
    assert.match(body, /createHash\('sha256'\)\.update\(expected/, 'the expected token is hashed')
    assert.match(body, /return timingSafeEqual\(a, b\)/, 'the digests are compared with timingSafeEqual')
    // No early exit that depends on the secret: no ==/!= between the tokens, no length test, no loop.
    const withoutUndefinedCheck = body.replace('if (presented === undefined) return false', '')
    assert.doesNotMatch(withoutUndefinedCheck, /[!=]==?|\.length|for\s*\(|while\s*\(|startsWith|indexOf|localeCompare/, `tokenMatches has a data-dependent comparison:\n${body}`)
    say(t, 'tokenMatches: SHA-256 of both sides, then crypto.timingSafeEqual on the 32-byte digests; no other comparison')
  })

  it('the API checks the token only through tokenMatches, and nothing else in src compares a token', async (t) => {
    const files = (await readdir(join(repoRoot, 'src'), {recursive: true})).filter((f) => f.endsWith('.ts'))
    const offenders: string[] = []
    for (const file of files) {
      const text = await readFile(join(repoRoot, 'src', file), 'utf8')
      for (const [i, line] of text.split('\n').entries()) {
        // Any use of the API token (x.token) or the presented one in an equality test.
        const usesToken = /\.token\b|\bpresented\b/.test(line)
        const compares = /[!=]==?/.test(line.replace(/[!=]== undefined/g, ''))
        if (file !== join('api', 'token.ts') && usesToken && compares) offenders.push(`${file}:${i + 1}: ${line.trim()}`)
      }
    }
    assert.deepEqual(offenders, [], 'token compared with == / ===')
    const server = await readFile(join(repoRoot, 'src', 'api', 'server.ts'), 'utf8')
    assert.match(server, /tokenMatches\(presented, (options\.auth\.)?token\)/, 'the auth hook uses tokenMatches')
    say(t, `scanned ${files.length} source files: the only token comparison is tokenMatches in the auth hook`)
  })

  it('tokenMatches gives the right answer for every kind of near miss, and never throws', (t) => {
    const token = randomBytes(32).toString('hex')
    const cases: Array<[string, string | undefined, boolean]> = [
      ['same', token, true],
      ['first char differs', `${token[0] === 'a' ? 'b' : 'a'}${token.slice(1)}`, false],
      ['last char differs', `${token.slice(0, -1)}${token.at(-1) === 'a' ? 'b' : 'a'}`, false],
      ['prefix', token.slice(0, 32), false],
      ['longer', `${token}00`, false],
      ['empty', '', false],
      ['undefined', undefined, false],
      ['upper case', token.toUpperCase(), false],
      ['non-ASCII', `${token.slice(0, -1)}é`, false],
      ['1 MiB', 'a'.repeat(1024 * 1024), false],
    ]
    for (const [label, presented, expected] of cases) {
      assert.doesNotThrow(() => tokenMatches(presented, token), label)
      assert.equal(tokenMatches(presented, token), expected, label)
    }
    say(t, `${cases.length} near misses answered correctly`)
  })
})

describe('secrets stay secret; state files have the promised permissions', () => {
  let h: Harness
  const secrets = {
    DB_PASS: `pw-${randomBytes(12).toString('hex')}`,
    APP_DIR: `relative/dir-${randomBytes(8).toString('hex')}`,
    TRICKY: `\${DB_PASS}: {x: [1]} # ${randomBytes(8).toString('hex')}`,
    CRASH_ENV: `crash-${randomBytes(12).toString('hex')}`,
  }
  const outputs: string[] = []
  const earlierLogs: string[] = []

  before(async () => {
    h = await Harness.start({server: false})
    // umask 000: the modes must come from launcho, not from a careful environment.
    await startServer(h, {prefix: ['sh', '-c', 'umask 000; exec "$@"', 'sh'], printAuth: true})
  })
  after(async () => h?.close())

  const cli = async (args: string[]) => {
    const result = await h.cli(args)
    outputs.push(result.stdout, result.stderr)
    return result
  }

  it('secret values appear in no error message, status, event, diff or log', async (t) => {
    for (const [name, value] of Object.entries(secrets)) assert.equal((await cli(['secret', 'set', name, value])).code, 0)
    const target = `processes:
  - name: web
    command: ["sleep", "100000"]
    uid: nobody
    env:
      PASSWORD: "\${DB_PASS}"
      TRICKY: "\${TRICKY}"
  - name: crasher
    command: ["/bin/sh", "-c", "exit 3"]
    env:
      CRASH_ENV: "\${CRASH_ENV}"
`
    // --detach: crasher never runs for long, so a waiting t set would (rightly) exit 1.
    assert.equal((await cli(['t', 'set', await h.writeFile('t1.yaml', target), '--detach'])).code, 0)
    const badCwd = `${target}  - name: cwd
    command: ["sleep", "1"]
    cwd: "\${APP_DIR}"
`
    const refused = await cli(['t', 'set', await h.writeFile('t2.yaml', badCwd)])
    say(t, `cwd from a secret that is not absolute → exit ${refused.code}: ${refused.stderr.split('\n').slice(0, 2).join(' ')}`)
    assert.notEqual(refused.code, 0)
    const removal = await cli(['secret', 'rm', 'DB_PASS'])
    say(t, `removing a secret the target uses → exit ${removal.code}: ${removal.stderr.split('\n')[0]}`)
    assert.notEqual(removal.code, 0)
    const diff = await cli(['t', 'diff', await h.writeFile('t3.yaml', target.replace('100000', '100001'))])
    assert.equal(diff.code, 0)
    assert.equal((await cli(['secret', 'set', 'DB_PASS', `${secrets.DB_PASS}-2`])).code, 0)
    await waitFor('crasher crash-looping, web running', async () => {
      const s = await h.status()
      return s.processes.find((p) => p.name === 'crasher')?.state === 'crash-looping' && s.processes.find((p) => p.name === 'web')?.state === 'running'
    }, 20_000, 200)
    outputs.push(await h.ok(['status']), await h.ok(['status', '--json', '--events', '200']), await h.ok(['logs', 'crasher', '--lines', '50', '--all-versions']), await h.ok(['t', 'get']))
    outputs.push((await cli(['secret', 'ls'])).stdout)
    // Releases keep the values (0600, for rollback) but show only the names.
    const history = JSON.parse(await h.ok(['history', '--json'])) as {releases: {number: number}[]}
    outputs.push(await h.ok(['history']), JSON.stringify(history))
    for (const {number} of history.releases) outputs.push(await h.ok(['history', String(number)]), await h.ok(['history', String(number), '--json']), await h.ok(['t', 'diff', '--release', String(number)]))
    const token = (await credentials(h)).token
    const needles = [...Object.values(secrets), `${secrets.DB_PASS}-2`, token]
    const allOutput = outputs.join('\n')
    // `t get` shows the target as written: placeholders, never values.
    for (const needle of needles) assert.ok(!allOutput.includes(needle), `CLI output contains ${needle.slice(0, 8)}…`)
    const searched = await assertNoLeaks(h, needles, earlierLogs)
    say(t, `${needles.length} secret values and the token absent from ${allOutput.length} bytes of CLI output (errors, status, events, diff, logs), ${searched.serverLogBytes} bytes of server log and ${searched.journalBytes} bytes of journal`)
  })

  it('files under the state dir have the modes the README promises, even under umask 000', async (t) => {
    await h.ok(['resource', 'up', await h.writeFile('res.txt', 'resource\n')])
    await h.ok(['restart', 'web'])
    await waitFor('web running', async () => (await h.status()).processes.find((p) => p.name === 'web')?.state === 'running', 15_000, 100)
    const nobody = Number((await run('id', ['-u', 'nobody'])).stdout.trim())
    const seen: string[] = []
    const problems: string[] = []
    const expect = (path: string, mode: number, uid?: number) => {
      seen.push(path)
      return {path, mode, uid}
    }
    const rules = [
      expect('.', 0o711),
      expect('launcho-server-auth.yaml', 0o600, 0),
      expect('target.yaml', 0o600, 0),
      expect('secrets.json', 0o600, 0),
      expect('restarts.json', 0o600, 0),
      expect('version-key', 0o600, 0),
      expect('environments', 0o700, 0),
      expect('instances', 0o711, 0),
      expect('resources', 0o700, 0),
      // Each release holds the values of the secrets its target used.
      expect('releases', 0o700, 0),
    ]
    for (const rule of rules) {
      const s = await stat(join(h.stateDir, rule.path))
      const line = `${rule.path} ${(s.mode & 0o777).toString(8)} uid ${s.uid}`
      t.diagnostic(line)
      if ((s.mode & 0o777) !== rule.mode || (rule.uid !== undefined && s.uid !== rule.uid)) problems.push(`${line}, expected ${rule.mode.toString(8)}`)
    }
    const instances = await readdir(join(h.stateDir, 'instances'))
    const webDirs = instances.filter((name) => name.startsWith('launcho-web-'))
    assert.equal(webDirs.length, 1, `web's instance dir: ${instances.join(', ')}`)
    for (const dir of instances) {
      const s = await stat(join(h.stateDir, 'instances', dir))
      const owner = dir.startsWith('launcho-web-') ? nobody : 0
      const line = `instances/${dir} ${(s.mode & 0o777).toString(8)} uid ${s.uid}`
      t.diagnostic(line)
      if ((s.mode & 0o777) !== 0o750 || s.uid !== owner) problems.push(`${line}, expected 750 owned by ${owner}`)
    }
    for (const file of await readdir(join(h.stateDir, 'resources'))) {
      const s = await stat(join(h.stateDir, 'resources', file))
      const line = `resources/${file.slice(0, 16)}… ${(s.mode & 0o777).toString(8)}`
      t.diagnostic(line)
      if ((s.mode & 0o777) !== 0o600) problems.push(`${line}, expected 600`)
    }
    for (const file of await readdir(join(h.stateDir, 'environments'))) {
      const s = await stat(join(h.stateDir, 'environments', file))
      const line = `environments/${file} ${(s.mode & 0o777).toString(8)} uid ${s.uid}`
      t.diagnostic(line)
      if ((s.mode & 0o777) !== 0o600 || s.uid !== 0) problems.push(`${line}, expected 600 owned by root`)
    }
    const releases = await readdir(join(h.stateDir, 'releases'))
    assert.ok(releases.length > 0, 'the restart made a release')
    for (const file of releases) {
      const s = await stat(join(h.stateDir, 'releases', file))
      const line = `releases/${file} ${(s.mode & 0o777).toString(8)} uid ${s.uid}`
      t.diagnostic(line)
      if ((s.mode & 0o777) !== 0o600 || s.uid !== 0) problems.push(`${line}, expected 600 owned by root`)
    }
    // Anything else at the top level must not be readable by others either.
    for (const name of await readdir(h.stateDir)) {
      if (seen.includes(name)) continue
      const s = await stat(join(h.stateDir, name))
      const line = `${name} ${(s.mode & 0o777).toString(8)} (not in the README's table)`
      t.diagnostic(line)
      if (s.mode & 0o077 && !(s.isDirectory() && (s.mode & 0o777) === 0o711)) problems.push(`${line}: readable by others`)
    }
    assert.deepEqual(problems, [])
  })

  it(
    'secret values cannot be read by other local users',
    async (t) => {
      const unit = (await h.units()).find((u) => u.startsWith('launcho-web-'))!
      // uid 1 (daemon): neither root nor the process's user.
      const shown = await h.inside(['setpriv', '--reuid=1', '--regid=1', '--clear-groups', 'systemctl', 'show', unit, '-p', 'Environment']).catch((error: Error) => `failed: ${error.message}`)
      const exposed = shown.includes(`${secrets.DB_PASS}-2`)
      say(t, `as uid 1: systemctl show ${unit} -p Environment → ${exposed ? 'shows PASSWORD=<the secret value>' : shown.trim().slice(0, 100)}`)
      assert.equal(exposed, false, 'an unprivileged user reads the secret through systemd')
    },
  )
})
