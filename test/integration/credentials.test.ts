/**
 * `credentials:` reach the process as files in $CREDENTIALS_DIRECTORY (systemd's LoadCredential=
 * from a root-only file), and nowhere else: not in its environment, not in any unit property, not
 * readable by another local user. Its exec check reads them too, and a secret change redeploys.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'
import {Harness, repoRoot, waitFor} from '../helpers/harness.js'
import {get} from '../helpers/services.js'
import {visibleFixture} from '../helpers/visible-fixture.js'

// Not from the clone: it may be under /tmp, which the sandboxes hide.
const probeFixture = await visibleFixture('sandbox-probe.cjs')
const probe = probeFixture.path
const secret = `s3cr3t-${process.pid}-"quoted" $HOME \n second line`
const target = `processes:
  - name: app
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(probe)}]
    uid: daemon
    sandbox: strict
    credentials:
      DB_PASSWORD: "\${DB_PASSWORD}"
      plain.txt: not secret
    receives: [web]
    health:
      command: ["sh", "-c", "test -s \\"$CREDENTIALS_DIRECTORY/DB_PASSWORD\\""]
      interval: 200ms
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('credentials', () => {
  let h: Harness
  let unit = ''
  const asNobody = (command: string[]) =>
    h.inside(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command]).catch((error: Error) => `failed: ${error.message}`)

  before(async () => {
    h = await Harness.start()
    await h.ok(['secret', 'set', 'DB_PASSWORD'], {input: secret})
    await h.setTarget(target, {wait: true})
    unit = (await h.status()).processes[0]!.instances[0]!.unit
  })
  after(async () => {
    await h?.close()
    await probeFixture.remove()
  })

  it('reach the process as files, byte for byte', async () => {
    assert.equal(await get(h, 'http://127.0.0.1:5000/cred?name=DB_PASSWORD'), `200 ${secret}`)
    assert.equal(await get(h, 'http://127.0.0.1:5000/cred?name=plain.txt'), '200 not secret')
  })

  it('reach its exec health check (healthy only when it can read them)', async () => {
    const app = (await h.status()).processes[0]!
    assert.equal(app.instances[0]!.health, 'healthy')
  })

  it('are in no environment and no unit property', async () => {
    const env = (await h.processEnv(unit))!
    assert.equal(env.CREDENTIALS_DIRECTORY, `/run/credentials/${unit}`)
    assert.ok(!Object.values(env).some((value) => value.includes('s3cr3t')), 'not in /proc/PID/environ')
    const everything = (await asNobody(['systemctl', 'show', unit])) + (await asNobody(['systemctl', 'show', unit, '-p', 'LoadCredential', '-p', 'SetCredential', '-p', 'Environment']))
    assert.match(everything, /^ExecStart=/m)
    assert.ok(!everything.includes('s3cr3t'), 'not in systemctl show')
    const path = `/org/freedesktop/systemd1/unit/${unit.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`
    const loaded = await asNobody(['busctl', 'get-property', 'org.freedesktop.systemd1', path, 'org.freedesktop.systemd1.Service', 'LoadCredential', 'SetCredential'])
    assert.match(loaded, /"DB_PASSWORD"/)
    assert.ok(!loaded.includes('s3cr3t'), loaded)
    assert.ok(!(await asNobody(['cat', `/run/systemd/transient/${unit}`])).includes('s3cr3t'))
  })

  it('cannot be read by another local user, neither where systemd put them nor where launcho keeps them', async () => {
    assert.match(await asNobody(['cat', `/run/credentials/${unit}/DB_PASSWORD`]), /^failed: .*Permission denied/s)
    assert.match(await asNobody(['ls', `/run/credentials/${unit}`]), /^failed: .*Permission denied/s)
    const pid = (await h.unit(unit, ['MainPID'])).MainPID
    assert.match(await asNobody(['cat', `/proc/${pid}/environ`]), /^failed: .*Permission denied/s)
    const dir = `${h.stateDir}/environments/${unit.replace(/\.service$/, '')}.credentials`
    assert.match(await asNobody(['cat', `${dir}/DB_PASSWORD`]), /^failed: .*Permission denied/s)
    const [dirStat, fileStat] = await Promise.all([stat(dir), stat(`${dir}/DB_PASSWORD`)])
    assert.deepEqual([(dirStat.mode & 0o777).toString(8), (fileStat.mode & 0o777).toString(8), fileStat.uid], ['700', '600', 0])
  })

  it('a secret change redeploys with the new value, and the old files go with the old instance', async () => {
    const before = unit
    // Waits for the rollout: the new version serves when it returns.
    const changed = await h.ok(['secret', 'set', 'DB_PASSWORD', 'rotated-value'])
    assert.match(changed, /secret DB_PASSWORD/)
    const next = (await h.status()).processes[0]!.instances.find((instance) => instance.current)!.unit
    assert.notEqual(next, before)
    assert.equal(await get(h, 'http://127.0.0.1:5000/cred?name=DB_PASSWORD'), '200 rotated-value')
    // The old instance drains first (up to drainTimeoutSeconds, 30 s) and is then stopped.
    await waitFor('the old credential files removed', async () => !existsSync(`${h.stateDir}/environments/${before.replace(/\.service$/, '')}.credentials`), 60_000)
    assert.deepEqual((await readdir(`${h.stateDir}/environments`)).sort(), [`${next.replace(/\.service$/, '')}.credentials`, `${next.replace(/\.service$/, '')}.env`])
  })

  it('refuses a bad credential name with its line at t set', async () => {
    const file = await h.writeFile('bad.yaml', 'processes:\n  - name: x\n    command: ["sleep", "1"]\n    credentials:\n      ../escape: x\n')
    const result = await h.cli(['t', 'set', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /bad\.yaml:5:7: processes\[0\]\.credentials\["\.\.\/escape"\]: credential names are letters/)
  })
})
