/**
 * `launcho run`: a one-off command in a process's environment (its user, secrets, sandbox,
 * resources in a fresh working directory, its `before`), as a launcho-run-* unit; stdout and
 * stderr live, separate and byte-exact; the command's exit status; Ctrl-C, a closed pipe and
 * --timeout stop it and leave nothing behind; --detach leaves its output in the journal; named
 * commands are listed and run.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const SECRET = 'postgres://run-secret-value'

function target(resource: string): string {
  return `processes:
  - name: web
    command: ["sleep", "600"]
    uid: nobody
    env:
      DB_URL: "\${DB_URL}"
    before: "echo before-ran > before.txt"
    resources: [{id: "${resource}", file: data.txt}]
  - name: strict
    command: ["sleep", "600"]
    uid: nobody
    sandbox: strict
commands:
  migrate:
    process: web
    command: ["sh", "-c", "echo migrating with \${DB_URL} \\"$@\\"; cat data.txt", "sh"]
`
}

describe('launcho run', () => {
  let h: Harness
  /** Run units systemd has, and files of runs left in the state dir. */
  const runLeftovers = async () => {
    const units = (await h.units()).filter((unit) => unit.startsWith('launcho-run-'))
    const files = [
      ...(await readdir(join(h.stateDir, 'environments')).catch(() => [])),
      ...(await readdir(join(h.stateDir, 'instances')).catch(() => [])),
    ].filter((entry) => entry.startsWith('launcho-run-'))
    return [...units, ...files]
  }
  const nothingLeft = async () => {
    let left: string[] = []
    await waitFor('no run unit or file left', async () => (left = await runLeftovers()).length === 0, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; left: ${left.join(', ')}`)
    })
  }
  /** `--auth` goes before `--` (after it, it would be the command's own argument). */
  const withAuth = (args: string[]) => {
    const at = args.indexOf('--')
    return at < 0 ? [...args, '--auth', h.authFile] : [...args.slice(0, at), '--auth', h.authFile, ...args.slice(at)]
  }
  const cli = (args: string[]) => h.cli(withAuth(args), {auth: false})
  const ok = async (args: string[]) => {
    const result = await cli(args)
    if (result.code !== 0) throw new Error(`launcho ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`)
    return result.stdout
  }
  /** The CLI as a child process of ours, its output as bytes. */
  const spawnCli = (args: string[]) => {
    const [bin, ...rest] = h.cliArgv(withAuth(args)).slice(0, -2)
    const child = spawn(bin!, rest, {stdio: ['ignore', 'pipe', 'pipe']})
    const stdout: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? -1 : 0))))
    return {child, exited, stdout: () => Buffer.concat(stdout), stderr: () => stderr}
  }

  before(async () => {
    h = await Harness.start()
    await h.ok(['secret', 'set', 'DB_URL', SECRET])
    const resource = (await h.ok(['resource', 'up', await h.writeFile('data.txt', 'resource-content\n')])).trim().split(/\s+/)[0]!
    await h.setTarget(target(resource))
  })
  after(async () => h?.close())

  it("prints the secret's value and exits with the command's status; stderr apart from stdout", async () => {
    const result = await cli(['run', 'web', '--', 'sh', '-c', 'echo $DB_URL; echo to-stderr >&2; exit 3'])
    assert.equal(result.code, 3, result.stderr)
    assert.equal(result.stdout, `${SECRET}\n`)
    assert.match(result.stderr, /^to-stderr$/m)
    await nothingLeft()
  })

  it('passes binary output through byte-exact', async () => {
    const run = spawnCli(['run', 'web', '--', 'sh', '-c', 'head -c 300000 /dev/urandom > r.bin && cat r.bin && sha256sum r.bin >&2'])
    assert.equal(await run.exited, 0, run.stderr())
    assert.equal(run.stdout().length, 300000)
    assert.equal(createHash('sha256').update(run.stdout()).digest('hex'), run.stderr().trim().split(/\s+/)[0])
  })

  it("runs as the process's user, in a fresh directory with its resources, its before first (and not with --no-before)", async () => {
    const nobody = (await h.inside(['id', '-u', 'nobody'])).trim()
    const out = await ok(['run', 'web', '--', 'sh', '-c', 'id -u; pwd; cat data.txt; cat before.txt'])
    const [uid, cwd, data, beforeRan] = out.trim().split('\n')
    assert.equal(uid, nobody)
    assert.match(cwd!, new RegExp(`^${join(h.stateDir, 'instances')}/launcho-run-web-[0-9a-f]{8}$`))
    assert.equal(data, 'resource-content')
    assert.equal(beforeRan, 'before-ran')
    const skipped = await ok(['run', 'web', '--no-before', '--', 'sh', '-c', 'test -e before.txt && echo ran || echo skipped'])
    assert.equal(skipped.trim(), 'skipped')
    await nothingLeft()
  })

  it("runs in the process's sandbox: a strict process's run cannot write /etc but can write its directory", async () => {
    const out = await ok(['run', 'strict', '--', 'sh', '-c', 'touch /etc/launcho-run-probe 2>/dev/null && echo wrote || echo refused; touch here && echo here-ok'])
    assert.deepEqual(out.trim().split('\n'), ['refused', 'here-ok'])
  })

  it('--timeout 1s on sleep 60 exits 124', async () => {
    const started = Date.now()
    const result = await cli(['run', 'web', '--timeout', '1s', '--', 'sleep', '60'])
    assert.equal(result.code, 124, result.stderr)
    assert.match(result.stderr, /timed out/)
    assert.ok(Date.now() - started < 20_000)
    await nothingLeft()
  })

  it('SIGINT to the CLI stops the run and leaves no unit, work dir or env file', async () => {
    const run = spawnCli(['run', 'web', '--', 'sleep', '60'])
    await waitFor('the run unit', async () => (await h.units()).some((unit) => unit.startsWith('launcho-run-web-')), 15_000)
    run.child.kill('SIGINT')
    assert.equal(await run.exited, 130, run.stderr())
    await nothingLeft()
  })

  it('SIGINT to a run whose command takes a moment to exit on SIGTERM (and fails) leaves no unit behind', async () => {
    const run = spawnCli(['run', 'web', '--', 'sh', '-c', 'trap "sleep 1; exit 1" TERM; echo ready; while :; do sleep 0.1; done'])
    await new Promise((resolve) => run.child.stdout.once('data', resolve))
    run.child.kill('SIGINT')
    assert.equal(await run.exited, 130, run.stderr())
    await nothingLeft()
  })

  it('a closed stdout pipe stops the run and leaves nothing behind', async () => {
    const run = spawnCli(['run', 'web', '--', 'sh', '-c', 'while :; do echo y; done'])
    await new Promise((resolve) => run.child.stdout.once('data', resolve))
    run.child.stdout.destroy()
    assert.notEqual(await run.exited, 0)
    await nothingLeft()
  })

  it('--detach prints the unit, whose output journalctl -u shows; it is cleaned after it ends', async () => {
    const out = await ok(['run', 'web', '--detach', '--', 'sh', '-c', 'echo detached-output; sleep 1'])
    const unit = out.trim()
    assert.match(unit, /^launcho-run-web-[0-9a-f]{8}\.service$/)
    await waitFor('its output in the journal', async () => (await h.journal(['-u', unit, '-o', 'cat'])).includes('detached-output'), 15_000)
    await nothingLeft()
  })

  it('a command that cannot start exits non-zero with the reason', async () => {
    const result = await cli(['run', 'web', '--', '/no/such/program'])
    assert.equal(result.code, 127, result.stderr)
    assert.match(result.stderr, /could not run: .*(No such file|EXEC)/)
    await nothingLeft()
  })

  it('run --list shows the named commands (as written); run migrate runs one with the extra arguments appended', async () => {
    const list = await ok(['run', '--list'])
    assert.match(list, /^migrate\s+web\s+sh -c .*\$\{DB_URL\}/m)
    assert.ok(!list.includes(SECRET))
    const json = JSON.parse(await ok(['run', '--list', '--json'])) as {commands: Array<{name: string; process: string; command: string[]}>}
    assert.deepEqual(json.commands.map((c) => [c.name, c.process]), [['migrate', 'web']])
    const out = await ok(['run', 'migrate', '--', '--step', '2'])
    assert.equal(out, `migrating with ${SECRET} --step 2\nresource-content\n`)
    const unknown = await cli(['run', 'nope'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /processes: strict, web; named commands: migrate/)
  })

  it('refuses a process named run-*', async () => {
    const result = await h.cli(['t', 'set', await h.writeFile('bad.yaml', 'processes:\n  - name: run-x\n    command: ["sleep", "1"]\n')])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /cannot start with "run-"/)
  })
})
