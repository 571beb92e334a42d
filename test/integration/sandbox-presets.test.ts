/**
 * `sandbox: strict` confines what a process (its command, its `before` and its exec health check)
 * can touch, and ordinary programs still work under it: a Node HTTP app serves through its
 * service, a shell script runs; both can write their working directory and nothing else.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readdir, rm, stat} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'
import {Harness, repoRoot, waitFor} from '../helpers/harness.js'
import {get} from '../helpers/services.js'
import {visibleFixture} from '../helpers/visible-fixture.js'

// Not from the clone: it may be under /tmp, which the sandboxes hide.
const probeFixture = await visibleFixture('sandbox-probe.cjs')
const probe = probeFixture.path
/** Outside every working directory, in a place the sandboxed processes could write without a sandbox. */
const outside = `/var/lib/launcho-sandbox-probe-${process.pid}`

const target = (bundle: string) => `processes:
  - name: app
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(probe)}]
    uid: nobody
    sandbox: strict
    before: |
      echo from-before > before-inside.txt
      if echo x > ${outside}-before; then echo wrote > before-outside.txt; else echo refused > before-outside.txt; fi
    receives: [web]
    health: {service: web, path: /health}
  - name: script
    command: ["sh", "-c", "echo in > inside.txt; if echo out > ${outside}-script; then echo wrote > outside.txt; else echo refused > outside.txt; fi; exec sleep 600"]
    sandbox: strict
    health:
      command: ["sh", "-c", "! touch ${outside}-check && touch check-inside.txt"]
      interval: 200ms
  - name: plain
    command: ["sleep", "600"]
  - name: basic
    command: ["sh", "-c", "echo in > inside.txt; (echo x > /etc/launcho-probe && echo wrote || echo refused) > etc.txt; echo x > ${outside}-basic; exec sleep 600"]
    sandbox: basic
  - name: dynamic
    command: ["sh", "-c", "id -u > uid.txt; cat bundle.txt > copy.txt; exec sleep 600"]
    dynamicUser: true
    sandbox: strict
    before: echo from-before > before.txt
    resources: [{id: "${bundle}", file: bundle.txt}]
    health:
      command: ["sh", "-c", "test -s uid.txt && touch checked.txt"]
      interval: 200ms
services:
  - name: web
    on: "127.0.0.1:5000"
`

describe('sandbox presets', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
    const bundle = (await h.ok(['resource', 'up', await h.writeFile('bundle.txt', 'bundled\n')])).trim()
    await h.setTarget(target(bundle), {wait: true})
  })
  after(async () => {
    await h?.close()
    await probeFixture.remove()
  })

  const workDir = async (process: string) => {
    const unit = (await h.status()).processes.find((p) => p.name === process)!.instances[0]!.unit
    return {unit, dir: `${h.stateDir}/instances/${unit.replace(/\.service$/, '')}`}
  }

  it('a strict Node HTTP app serves through its service and writes only its working directory', async () => {
    assert.equal(await get(h, 'http://127.0.0.1:5000/'), '200 ok')
    const {dir} = await workDir('app')
    assert.equal(await get(h, `http://127.0.0.1:5000/write?path=${encodeURIComponent(`${dir}/inside.txt`)}`), '200 ok')
    assert.ok(existsSync(`${dir}/inside.txt`))
    assert.equal(await get(h, `http://127.0.0.1:5000/write?path=${encodeURIComponent(`${outside}-node`)}`), '200 EROFS')
    assert.equal(await get(h, `http://127.0.0.1:5000/write?path=/etc/launcho-probe`), '200 EROFS')
    assert.ok(!existsSync(`${outside}-node`))
  })

  it('its before step runs under the same sandbox', async () => {
    const {dir} = await workDir('app')
    assert.equal(await h.readFile(`${dir}/before-inside.txt`), 'from-before\n')
    assert.equal(await h.readFile(`${dir}/before-outside.txt`), 'refused\n')
    assert.ok(!existsSync(`${outside}-before`))
  })

  it('a strict shell script runs as root without any power outside its working directory', async () => {
    const {dir} = await workDir('script')
    const written = await waitFor('the script wrote its report', async () => existsSync(`${dir}/outside.txt`) && h.readFile(`${dir}/outside.txt`))
    assert.equal(written, 'refused\n')
    assert.equal(await h.readFile(`${dir}/inside.txt`), 'in\n')
    assert.ok(!existsSync(`${outside}-script`))
  })

  it('its exec health check runs under the same sandbox (healthy only when confined)', async () => {
    const {dir} = await workDir('script')
    const script = (await h.status()).processes.find((p) => p.name === 'script')!
    assert.equal(script.instances[0]!.health, 'healthy')
    assert.ok(existsSync(`${dir}/check-inside.txt`))
    assert.ok(!existsSync(`${outside}-check`))
  })

  it('systemd reports the preset on the unit, and none on a process without one', async () => {
    const {unit} = await workDir('script')
    const shown = await h.unit(unit, ['ProtectSystem', 'PrivateTmp', 'NoNewPrivileges', 'CapabilityBoundingSet', 'SystemCallArchitectures', 'RestrictAddressFamilies', 'ProtectProc', 'BindPaths', 'MemoryDenyWriteExecute'])
    assert.equal(shown.ProtectSystem, 'strict')
    assert.equal(shown.PrivateTmp, 'yes')
    assert.equal(shown.NoNewPrivileges, 'yes')
    assert.equal(shown.CapabilityBoundingSet, '')
    assert.equal(shown.SystemCallArchitectures, 'native')
    assert.equal(shown.RestrictAddressFamilies, 'AF_INET AF_INET6 AF_UNIX')
    assert.equal(shown.ProtectProc, 'invisible')
    assert.equal(shown.MemoryDenyWriteExecute, 'no')
    assert.match(shown.BindPaths ?? '', new RegExp(`${(await workDir('script')).dir}:`))
    const plain = await h.unit((await workDir('plain')).unit, ['ProtectSystem', 'PrivateTmp'])
    assert.deepEqual(plain, {ProtectSystem: 'no', PrivateTmp: 'no'})
  })

  it('basic keeps /usr, /boot and /etc read-only but leaves /var writable', async () => {
    const {dir} = await workDir('basic')
    assert.equal(await waitFor('the basic script wrote its report', async () => existsSync(`${dir}/etc.txt`) && h.readFile(`${dir}/etc.txt`)), 'refused\n')
    assert.equal(await h.readFile(`${dir}/inside.txt`), 'in\n')
    await waitFor('its write under /var', async () => existsSync(`${outside}-basic`))
    await rm(`${outside}-basic`, {force: true})
  })

  it('dynamicUser: a user of its own owns its work dir, resources included, and its check shares it; all gone when it stops', async () => {
    const {unit} = await workDir('dynamic')
    const dir = `/var/lib/private/${unit.replace(/\.service$/, '')}`
    const uid = Number((await waitFor('the dynamic process wrote its uid', async () => existsSync(`${dir}/copy.txt`) && h.readFile(`${dir}/uid.txt`))).trim())
    assert.ok(uid >= 61184 && uid <= 65519, `a dynamic uid, got ${uid}`)
    assert.equal(await h.readFile(`${dir}/copy.txt`), 'bundled\n')
    assert.equal(await h.readFile(`${dir}/before.txt`), 'from-before\n')
    const owners = await Promise.all(['bundle.txt', 'before.txt', 'checked.txt', '.'].map(async (file) => (await stat(`${dir}/${file}`)).uid))
    assert.deepEqual(owners, [uid, uid, uid, uid])
    assert.deepEqual(await h.unit(unit, ['DynamicUser', 'User', 'StateDirectory']), {DynamicUser: 'yes', User: unit.replace(/\.service$/, ''), StateDirectory: unit.replace(/\.service$/, '')})
    await h.setTarget(`processes:\n  - name: plain\n    command: ["sleep", "600"]\n`, {wait: true})
    await waitFor('the dynamic work dir removed', async () => !existsSync(dir) && !existsSync(`/var/lib/${unit.replace(/\.service$/, '')}`))
    assert.deepEqual(await readdir(`${h.stateDir}/dynamic-users`), [])
  })

  it('refuses uid with dynamicUser at t set', async () => {
    const file = await h.writeFile('dyn.yaml', 'processes:\n  - name: x\n    command: ["sleep", "1"]\n    uid: nobody\n    dynamicUser: true\n')
    const result = await h.cli(['t', 'set', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /dyn\.yaml:4:10: processes\[0\]\.uid: uid cannot be set with dynamicUser: true/)
  })

  it('refuses an unknown preset with its line at t set', async () => {
    const file = await h.writeFile('bad.yaml', 'processes:\n  - name: x\n    command: ["sleep", "1"]\n    sandbox: paranoid\n')
    const result = await h.cli(['t', 'set', file])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /bad\.yaml:4:14: processes\[0\]\.sandbox: sandbox must be one of none, basic, strict \(got "paranoid"\)/)
  })
})
