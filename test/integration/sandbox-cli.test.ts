/**
 * `launcho sandbox` as a newcomer uses it from a clone: launcho, systemctl and journalctl work
 * inside it and reach the sandbox (not the host), its exit status is the command's, and it leaves
 * nothing behind.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readdir} from 'node:fs/promises'
import {describe, it} from 'node:test'
import {promisify} from 'node:util'
import {launchoBin} from '../helpers/harness.js'

const run = promisify(execFile)

async function sandbox(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await run(process.execPath, [launchoBin, 'sandbox', ...args], {env: {...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin'}})
    return {code: 0, stdout, stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

const toolDirs = async () => (await readdir('/var/tmp')).filter((name) => name.startsWith('launcho-sandbox-bin-'))

describe('launcho sandbox from a clone', () => {
  it('runs this launcho inside, with no launcho installed on PATH', async () => {
    const {code, stdout, stderr} = await sandbox('--', 'launcho', '--version')
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^launcho\/\d+\.\d+\.\d+ /)
  })

  it("aims systemctl and journalctl at the sandbox's systemd", async () => {
    const script = 'systemctl is-system-running; systemctl show -p Names --value dbus.service; journalctl --no-pager -o cat | grep -c . ; echo "bus=$DBUS_SYSTEM_BUS_ADDRESS"'
    const {code, stdout, stderr} = await sandbox('--', 'sh', '-c', script)
    assert.equal(code, 0, stderr)
    const [state, names, journalLines, bus] = stdout.trim().split('\n')
    assert.equal(state, 'running', 'the sandbox systemd answers (the host has none as PID 1)')
    assert.equal(names, 'dbus.service')
    assert.ok(Number(journalLines) > 0, 'journalctl reads the sandbox journal')
    assert.match(bus!, /^bus=unix:path=\/proc\/\d+\/root\/run\/dbus\/system_bus_socket$/)
  })

  it("exits with the command's status and removes its helper directory", async () => {
    const before = await toolDirs()
    const {code} = await sandbox('--', 'sh', '-c', 'exit 3')
    assert.equal(code, 3)
    assert.deepEqual(await toolDirs(), before)
  })

  it('refuses to start with no command, saying how to get a shell', async () => {
    const {code, stderr} = await sandbox()
    assert.equal(code, 2)
    assert.match(stderr, /--shell/)
  })
})
