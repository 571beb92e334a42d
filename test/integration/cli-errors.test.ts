/**
 * Exit codes and `--json` errors as the README documents them, against a real server: 2 when the
 * request is wrong (invalid target, unknown process, bad flag), 1 when the world is (no server,
 * wrong token); with --json the error is one JSON object on stderr and stdout stays empty.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {chmod, readFile} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'
import {Harness} from '../helpers/harness.js'

describe('CLI errors and exit codes', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  it('an invalid target exits 2, and with --json prints the problems with file, line and field', async () => {
    const file = await h.writeFile('bad.yaml', 'processes:\n  - name: web\n    command: ["sleep", "60"]\n    cwd: relative/dir\n')
    const text = await h.cli(['t', 'set', file])
    assert.equal(text.code, 2)
    assert.match(text.stderr, /bad\.yaml:4:\d+: processes\[0\]\.cwd: /)

    const json = await h.cli(['t', 'set', file, '--json'])
    assert.equal(json.code, 2)
    assert.equal(json.stdout, '')
    const {error} = JSON.parse(json.stderr) as {error: {code: string; message: string; hint?: string; problems: Array<{file: string; line: number; field: string}>}}
    assert.equal(error.code, 'invalid_target')
    assert.equal(typeof error.message, 'string')
    assert.deepEqual({file: error.problems[0]!.file, line: error.problems[0]!.line, field: error.problems[0]!.field}, {file, line: 4, field: 'processes[0].cwd'})
  })

  it('an unknown process exits 2 with a hint', async () => {
    const result = await h.cli(['restart', 'nosuch', '--json'])
    assert.equal(result.code, 2)
    const {error} = JSON.parse(result.stderr) as {error: {code: string; hint?: string}}
    assert.equal(error.code, 'not_found')
    assert.match(error.hint ?? '', /launcho status/)
  })

  it('a bad flag exits 2, also as JSON', async () => {
    const text = await h.cli(['status', '--events', 'many'])
    assert.equal(text.code, 2)
    const json = await h.cli(['status', '--events', 'many', '--json'])
    assert.equal(json.code, 2)
    assert.equal((JSON.parse(json.stderr) as {error: {code: string}}).error.code, 'invalid_request')
  })

  it('a wrong token and an unreachable server exit 1', async () => {
    const auth = await readFile(h.authFile, 'utf8')
    // 0600, as auth files should be: the client warns on stderr about any other mode.
    const privateCopy = async (name: string, text: string) => {
      const path = await h.writeFile(name, text)
      await chmod(path, 0o600)
      return path
    }
    const wrongToken = await privateCopy('wrong-token.yaml', auth.replace(/token: "?[0-9a-f]{64}"?/, `token: "${'0'.repeat(64)}"`))
    const refused = await h.cli(['status', '--json', '--auth', wrongToken], {auth: false})
    assert.equal(refused.code, 1)
    assert.equal((JSON.parse(refused.stderr) as {error: {code: string}}).error.code, 'unauthorized')

    const elsewhere = await privateCopy('elsewhere.yaml', auth.replace(/host: .*/, 'host: "127.0.0.1:9"'))
    const unreachable = await h.cli(['status', '--auth', elsewhere], {auth: false})
    assert.equal(unreachable.code, 1)
    assert.match(unreachable.stderr, /no launcho server is listening at 127\.0\.0\.1:9/)
  })

  it('status warns once about an auth file others can read, also when it then fails', async () => {
    const auth = await readFile(h.authFile, 'utf8')
    const shared = await h.writeFile('shared.yaml', auth)
    await chmod(shared, 0o644)
    const ok = await h.cli(['status', '--auth', shared], {auth: false})
    assert.equal(ok.code, 0)
    assert.equal(ok.stderr.match(/is readable by other users/g)?.length, 1, ok.stderr)
    const wrong = await h.writeFile('shared-wrong.yaml', auth.replace(/token: "?[0-9a-f]{64}"?/, `token: "${'0'.repeat(64)}"`))
    await chmod(wrong, 0o644)
    const refused = await h.cli(['status', '--auth', wrong], {auth: false})
    assert.equal(refused.code, 1)
    assert.equal(refused.stderr.match(/is readable by other users/g)?.length, 1, refused.stderr)
  })

  // Before, every command but `status` exited 13 with Node's "unsettled top-level await" warning.
  for (const argv of [['status'], ['t', 'get'], ['history'], ['events', '--json']]) {
    it(`${argv.join(' ')} into a reader that has gone (\`| head\`) ends with 0 and says nothing`, async () => {
      await h.setTarget('processes:\n  - name: quiet\n    command: ["sleep", "infinity"]\n')
      const [bin, ...args] = h.cliArgv(argv)
      const child = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe']})
      child.stdout.destroy()
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      const code = await new Promise((resolve) => child.on('close', resolve))
      assert.equal(stderr, '')
      assert.equal(code, 0)
    })
  }
})
