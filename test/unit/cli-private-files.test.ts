/**
 * The client's credentials stay private: print-auth's output is made 0600 wherever it lands (or
 * the user is told it could not be), `--out` writes 0600, the client warns about an auth file
 * others can read, and `secret set NAME` on a terminal prompts without echoing the value.
 */
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {mkdtemp, open, readFile, rm, stat, writeFile, chmod} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../../', import.meta.url))
const launcho = join(repo, 'bin', 'launcho.js')
const privateOutput = join(repo, 'dist', 'src', 'cli', 'private-output.js')

describe('private files of the CLI', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp('/var/tmp/launcho-cli-files-')
    await chmod(dir, 0o755)
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('print-auth redirected into a 0644 file leaves it 0600', async () => {
    const out = join(dir, 'redirected.yaml')
    const file = await open(out, 'w', 0o644)
    await file.chmod(0o644)
    const child = spawn(process.execPath, [launcho, 'print-auth', '--state-dir', join(dir, 'state'), '--host', 'h:1'], {stdio: ['ignore', file.fd, 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise((resolve) => child.on('close', resolve))
    await file.close()
    assert.equal(code, 0, stderr)
    assert.equal((await stat(out)).mode & 0o777, 0o600)
    assert.match(await readFile(out, 'utf8'), /token:/)
    assert.equal(stderr, '')
  })

  it('says so on stderr when the file it was redirected into cannot be made 0600', async () => {
    // A root-owned 0644 file handed to a process running as nobody: it may write, not chmod.
    const out = join(dir, 'not-mine.yaml')
    await writeFile(out, '', {mode: 0o666})
    await chmod(out, 0o646)
    const file = await open(out, 'w')
    const script = `import(${JSON.stringify(privateOutput)}).then(async (m) => { const w = await m.writePrivateOutput('token: x\\n'); process.stderr.write(w ?? '') })`
    const child = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script], {stdio: ['ignore', file.fd, 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise((resolve) => child.on('close', resolve))
    await file.close()
    assert.equal(code, 0, stderr)
    assert.match(stderr, /readable by others \(mode 0646\) and could not be made 0600 \(EPERM\)/)
    assert.match(stderr, /--out FILE/)
  })

  it('print-auth --out writes the file 0600', async () => {
    const out = join(dir, 'out.yaml')
    await run(process.execPath, [launcho, 'print-auth', '--state-dir', join(dir, 'state'), '--host', 'h:1', '--out', out])
    assert.equal((await stat(out)).mode & 0o777, 0o600)
    assert.match(await readFile(out, 'utf8'), /cert:/)
  })

  it('the client warns when its auth file is readable by others', async () => {
    const out = join(dir, 'open.yaml')
    await run(process.execPath, [launcho, 'print-auth', '--state-dir', join(dir, 'state'), '--host', '127.0.0.1:9', '--out', out])
    await chmod(out, 0o644)
    const result = await run(process.execPath, [launcho, 'status', '--auth', out]).catch((error: {stderr: string}) => error)
    assert.match(result.stderr, new RegExp(`${out} is readable by other users \\(mode 0644\\).*chmod 600`))
  })

  it('secret set on a terminal prompts for the value without echoing it', async () => {
    // A real pseudo-terminal (python3's pty): the value is typed, never shown, and reaches the
    // request; with no server listening the command then fails to connect, which is fine here.
    const auth = join(dir, 'tty-auth.yaml')
    await run(process.execPath, [launcho, 'print-auth', '--state-dir', join(dir, 'state'), '--host', '127.0.0.1:9', '--out', auth])
    const driver = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b''
deadline = time.time() + 20
sent = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if not sent and b'(not shown): ' in seen:
        os.write(fd, b'hunter2-typed\\r')
        sent = True
os.waitpid(pid, 0)
sys.stdout.write(seen.decode('utf8', 'replace'))
`
    const {stdout} = await run('/usr/bin/python3', ['-c', driver, process.execPath, launcho, 'secret', 'set', 'DB_PASSWORD', '--auth', auth])
    assert.match(stdout, /Value of DB_PASSWORD \(not shown\): /)
    assert.doesNotMatch(stdout, /hunter2/)
    assert.match(stdout, /no launcho server is listening|cannot reach|ECONNREFUSED/i)
  })
})
