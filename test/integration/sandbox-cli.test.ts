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

  it('runs a launcho server whose logs show what its processes print, as the README tells a newcomer', async () => {
    // Inside the sandbox, PATH starts with the journalctl wrapper: the server must read the
    // sandbox's journal all the same. The sandbox has its own network: 12888 is free there.
    const script = [
      'set -eu',
      'd=$(mktemp -d /var/tmp/launcho-sandbox-logs-XXXXXX)',
      'trap \'kill $server 2>/dev/null; rm -rf "$d"\' EXIT',
      'launcho server --state-dir "$d/state" >"$d/server.log" 2>&1 & server=$!',
      'i=0; until grep -q "launcho server ready" "$d/server.log"; do i=$((i+1)); [ $i -lt 300 ] || { cat "$d/server.log"; exit 9; }; sleep 0.1; done',
      'launcho print-auth --state-dir "$d/state" --host 127.0.0.1:12888 >"$d/auth.yaml"',
      'printf \'processes:\\n  - name: hello\\n    command: ["sh", "-c", "echo hello-from-the-sandbox; exec sleep 600"]\\n\' >"$d/target.yaml"',
      'launcho t set "$d/target.yaml" --auth "$d/auth.yaml" >/dev/null',
      'i=0; until launcho logs hello --auth "$d/auth.yaml" | grep -q hello-from-the-sandbox; do i=$((i+1)); [ $i -lt 100 ] || exit 8; sleep 0.2; done',
      'launcho logs hello -n 1 --auth "$d/auth.yaml"',
    ].join('\n')
    const {code, stdout, stderr} = await sandbox('--', 'sh', '-c', script)
    assert.equal(code, 0, `${stderr}${stdout}`)
    assert.match(stdout, /hello-from-the-sandbox/)
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
