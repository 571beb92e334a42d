/**
 * `systemctl daemon-reload` (run by every package upgrade that ships a unit) must leave launcho's
 * units whole: systemd 252 cannot read back the ExecStartEx= lines of its own transient files, so
 * without launcho's command drop-ins a reloaded unit has no command and systemd cannot restart it.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

describe('a daemon-reload', () => {
  let h: Harness
  let argvFile: string
  let unit: string
  before(async () => {
    h = await Harness.start()
    argvFile = join(h.dir, 'argv.txt')
    // Words systemd 252 would change on the way through its transient file: `$`, `;`, `${…}`, `\`.
    await h.setTarget(`
processes:
  - name: app
    command: ["/bin/sh", "-c", "for a in \\"$@\\"; do printf '<%s>\\\\n' \\"$a\\"; done >> ${argvFile}; echo --- >> ${argvFile}; exec sleep 600", "sh", "a$b", "c;d", "$\${HOME}", "e$$f", "g\\\\h"]
    before: "echo before >> ${argvFile}"
    env: {HOME: /nowhere}
`)
    await waitFor('app running', async () => (await h.status()).processes.find((p) => p.name === 'app')?.state === 'running')
    unit = (await h.units()).find((name) => name.startsWith('launcho-app-'))!
  })
  after(async () => h?.close())

  const show = async (property: string) => (await h.inside(['systemctl', 'show', '-p', property, '--value', unit])).trim()

  it('keeps every command of a unit: systemd restarts it after a crash with the same argv, byte for byte', async () => {
    const first = await readFile(argvFile, 'utf8')
    assert.equal(first, 'before\n<a$b>\n<c;d>\n<${HOME}>\n<e$$f>\n<g\\h>\n---\n')
    await h.inside(['systemctl', 'daemon-reload'])
    assert.equal(await show('LoadState'), 'loaded', await h.inside(['systemctl', 'status', '--no-pager', unit]).catch((e: Error) => e.message))
    const pid = await show('MainPID')
    await h.inside(['systemctl', 'kill', '--kill-who=main', '-s', 'KILL', unit])
    // systemd itself restarts the same unit (NRestarts counts its restarts; launcho would start it anew).
    await waitFor('systemd restarted the unit', async () => (await show('NRestarts')) === '1' && (await show('ActiveState')) === 'active' && (await show('MainPID')) !== pid, 10_000, 50)
    await waitFor('the restarted process wrote its argv', async () => (await readFile(argvFile, 'utf8')).length === first.length * 2)
    assert.equal(await readFile(argvFile, 'utf8'), first + first, 'the same before script and argv as the first start')
  })

  it('leaves no drop-in behind when the unit goes', async () => {
    const dropIn = join(h.sandbox.journalRoot, 'run/systemd/transient', `${unit}.d`)
    assert.ok(existsSync(dropIn), `${dropIn} exists while the unit runs`)
    await h.setTarget(`
processes:
  - name: other
    command: ["sleep", "600"]
`)
    await waitFor('app gone', async () => !(await h.units()).includes(unit))
    await waitFor(`${dropIn} removed`, async () => !existsSync(dropIn), 30_000, 200)
  })
})
