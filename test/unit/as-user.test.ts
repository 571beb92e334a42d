import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {chmod, chown, mkdir, mkdtemp, open, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {AsUserError, runAsUser} from '../../src/reconcile/as-user.js'

const NOBODY = {uid: 65534, gid: 65534}
const asRoot = process.getuid?.() === 0

/** A user listed as a member in /etc/group (a supplementary group), and that group's gid. */
async function userWithSupplementaryGroup(): Promise<{user: string; gid: number} | undefined> {
  for (const line of (await readFile('/etc/group', 'utf8')).split('\n')) {
    const [, , gid, members] = line.split(':')
    const user = members?.split(',').find(Boolean)
    if (user && gid) return {user, gid: Number(gid)}
  }
  return undefined
}

describe('running a fixed command as a process user', {skip: !asRoot && 'needs root'}, () => {
  let root: string
  let out: string
  /** Writable by anyone, for users other than nobody. */
  let shared: string
  before(async () => {
    root = await mkdtemp('/var/tmp/launcho-test-as-user-')
    await chmod(root, 0o711)
    out = join(root, 'out')
    await mkdir(out)
    await chown(out, NOBODY.uid, NOBODY.gid)
    shared = join(root, 'shared')
    await mkdir(shared)
    await chmod(shared, 0o777)
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
  })

  const ids = () => readFile(join(out, 'ids'), 'utf8').then((text) => text.trim().split('\n'))

  test('runs as the uid and gid given, without root\'s groups, in /, with a minimal environment', async () => {
    await runAsUser(NOBODY, ['sh', '-c', 'id -u > "$1/ids"; id -g >> "$1/ids"; id -G >> "$1/ids"; pwd >> "$1/ids"; env | sort | tr "\\n" " " >> "$1/ids"', 'sh', out])
    const [uid, gid, groups, cwd, env] = await ids()
    assert.deepEqual([uid, gid, cwd], ['65534', '65534', '/'])
    assert.ok(!groups!.split(' ').includes('0'), `no root group: ${groups}`)
    assert.doesNotMatch(env!, /HOME=\/root|SUDO|NODE_/, 'nothing of the server\'s environment')
  })

  test('gives a user with a passwd entry its supplementary groups, as systemd does', async (t) => {
    const member = await userWithSupplementaryGroup()
    if (!member) return t.skip('no user with a supplementary group on this host')
    const [, , uid, gid] = execFileSync('getent', ['passwd', member.user]).toString().split(':')
    await runAsUser({uid: Number(uid), gid: Number(gid)}, ['sh', '-c', 'id -G > "$1/groups"', 'sh', shared])
    const groups = (await readFile(join(shared, 'groups'), 'utf8')).trim()
    assert.ok(groups.split(' ').includes(String(member.gid)), `${member.user} is in group ${member.gid}: ${groups}`)
  })

  test('a uid without a passwd entry runs with no supplementary groups', async () => {
    await runAsUser({uid: 4242, gid: 4243}, ['sh', '-c', 'id -u > "$1/ids"; id -G >> "$1/ids"', 'sh', shared])
    assert.deepEqual((await readFile(join(shared, 'ids'), 'utf8')).trim().split('\n'), ['4242', '4243'])
  })

  test('hands an open descriptor as stdin: the user reads a root-only file it could not open itself', async () => {
    const secret = join(root, 'root-only')
    await writeFile(secret, 'for the user through root\n', {mode: 0o600})
    const denied = await runAsUser(NOBODY, ['cat', secret]).then(() => undefined, (error: unknown) => error)
    assert.ok(denied instanceof AsUserError && denied.denied, `nobody cannot open it by path: ${String(denied)}`)
    const handle = await open(secret, 'r')
    try {
      await runAsUser(NOBODY, ['sh', '-c', 'cat > "$1/copy"', 'sh', out], {stdin: handle.fd})
    } finally {
      await handle.close()
    }
    assert.equal(await readFile(join(out, 'copy'), 'utf8'), 'for the user through root\n')
  })

  test('a failure is an AsUserError with the last lines of the command\'s stderr and how it ended', async () => {
    const error = await runAsUser(NOBODY, ['sh', '-c', 'for word in one two three "the last words"; do echo "$word" >&2; done; exit 3']).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof AsUserError)
    assert.equal(error.reason, 'two; three; the last words')
    assert.deepEqual(error.outcome, {exitCode: 3, signal: null, timedOut: false})
    assert.match(error.message, /^sh as uid 65534 \(gid 65534\) failed: two; three; the last words$/)
    assert.equal(error.denied, false)
  })

  test('a command past its timeout is killed with everything it started', async () => {
    const started = Date.now()
    const error = await runAsUser(NOBODY, ['sh', '-c', 'sleep 31 & echo $! > "$1/pid"; wait', 'sh', out], {timeoutMs: 300}).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof AsUserError && error.outcome.timedOut, String(error))
    assert.match(error.reason, /^killed after its timeout/)
    assert.ok(Date.now() - started < 5_000)
    const pid = Number(await readFile(join(out, 'pid'), 'utf8'))
    const alive = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((cmd) => cmd.includes('sleep'), () => false)
    assert.equal(alive, false, 'the background sleep died with it')
  })
})
