/**
 * systemd expands nothing in what launcho renders: env and secret values reach `before` and the
 * command as data, never as code or extra words; launcho's own `$SERVICE_PORT_<NAME>` still
 * becomes the port.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {chmod, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'
import type {InstanceStatus} from '../../src/protocol/status.js'
import {get} from '../helpers/services.js'

type Instance = InstanceStatus

describe('commands and before scripts reach their programs as written', () => {
  let h: Harness
  let drop = ''
  before(async () => {
    h = await Harness.start()
    // Anyone may write here, so a command injected as `nobody` would leave its file.
    drop = join(h.dir, 'drop')
    await mkdir(drop)
    await chmod(drop, 0o777)
    await h.ok(['secret', 'set', 'INJ'], {input: `$(id > ${drop}/pwned)`})
    await h.setTarget(`processes:
  - name: inj
    uid: nobody
    env:
      V: "\${INJ}"
    before: 'echo "value of V is: $\${V}"'
    command: ["/bin/sh", "-c", "sleep 600; :", "argv0", "a$$b", "$V", "$\${V}"]
  - name: web
    uid: nobody
    command: ["python3", "-m", "http.server", "--bind", "127.0.0.1", "$SERVICE_PORT_WEB"]
    receives: [web]
    health: {service: web, path: /, interval: 200ms}
services:
  - name: web
    on: "127.0.0.1:5000"
`)
  })
  after(async () => h?.close())

  const instanceOf = (name: string) =>
    waitFor(`${name} running`, async () => {
      const process = (await h.status()).processes.find((p) => p.name === name)
      const instance = process?.instances[0] as Instance | undefined
      return instance?.activeState === 'active' && instance.pid > 0 && instance
    }, 20_000, 100)

  it('runs a before script that prints a secret with $${V}: the value is printed, not run', async () => {
    const {unit} = await instanceOf('inj')
    const lines = await waitFor('the before line in the journal', async () => {
      const out = await h.journal(['-u', unit, '-o', 'cat'])
      return out.includes('value of V is:') && out
    })
    assert.match(lines, new RegExp(`^value of V is: \\$\\(id > ${drop}/pwned\\)$`, 'm'))
    assert.equal(existsSync(join(drop, 'pwned')), false, 'the secret ran as shell code')
  })

  it('passes argv words literally: a$$b stays a$$b, $V and ${V} are one word each, unexpanded', async () => {
    const {pid} = await instanceOf('inj')
    const argv = (await h.inside(['cat', `/proc/${pid}/cmdline`])).split('\0').slice(0, -1)
    assert.deepEqual(argv, ['/bin/sh', '-c', 'sleep 600; :', 'argv0', 'a$$b', '$V', '${V}'])
  })

  it('still gives $SERVICE_PORT_WEB in the command the instance port: a real HTTP server answers on it', async () => {
    const instance = await waitFor('web serving', async () => {
      const web = (await h.status()).processes.find((p) => p.name === 'web')?.instances[0] as Instance | undefined
      return web?.traffic === 'in' && web
    }, 30_000, 100)
    const port = (instance as {ports?: Record<string, number>}).ports?.web
    assert.ok(port, 'the instance has a port')
    const argv = (await h.inside(['cat', `/proc/${instance.pid}/cmdline`])).split('\0').slice(0, -1)
    assert.equal(argv.at(-1), String(port))
    assert.match(await get(h, 'http://127.0.0.1:5000/'), /^200 /)
  })
})
