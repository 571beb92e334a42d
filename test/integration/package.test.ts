import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {parse} from 'yaml'
import {configSchema, loadConfig} from '../../src/daemon/config.js'
import {Harness, repoRoot, waitFor} from '../helpers/harness.js'
import {cachedDeb} from '../helpers/package-build.js'
import {inRootWithoutSystemd, overlayRootInSandbox} from '../helpers/package-root.js'

const run = promisify(execFile)
const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {version: string}).version
const versionText = version.replace(/\./g, '\\.')
const configTemplate = join(repoRoot, 'templates', 'config.yaml')

describe('templates/config.yaml (/etc/launcho/config.yaml)', () => {
  const defaults = configSchema.parse({}) as Record<string, unknown>
  const settingLine = /^#([A-Za-z]+): (.*)$/

  it('lists every server config key, commented out, with its default', async () => {
    const lines = (await readFile(configTemplate, 'utf8')).split('\n')
    const listed = new Map(lines.map((line) => settingLine.exec(line)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]))
    assert.deepEqual([...listed.keys()].sort(), Object.keys(configSchema.shape).sort())
    for (const [key, value] of Object.entries(defaults)) assert.deepEqual(parse(listed.get(key)!), value, key)
  })

  it('means the defaults as shipped, and also with every key that has a default uncommented', async () => {
    assert.deepEqual(await loadConfig(configTemplate, {}), defaults)
    const text = (await readFile(configTemplate, 'utf8'))
      .split('\n')
      // Keys without a default of their own (environmentsDir's follows stateDir) stay commented.
      .map((line) => (settingLine.test(line) && !/^#(journalRoot|environmentsDir|maxExposure):/.test(line) ? line.slice(1) : line))
      .join('\n')
    const dir = await mkdtemp('/var/tmp/launcho-test-config-')
    try {
      await writeFile(join(dir, 'config.yaml'), text)
      assert.deepEqual(await loadConfig(join(dir, 'config.yaml'), {}), defaults)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('the .deb', () => {
  let deb: string
  before(async () => {
    deb = await cachedDeb()
  })

  it('installs with dpkg -i where no systemd runs (chroot, image build), enabled for the next boot', async () => {
    const {stdout} = await inRootWithoutSystemd(`
dpkg -i ${deb} >&2
/usr/bin/launcho --version
stat -c '%a %U:%G' /var/lib/launcho
readlink /etc/systemd/system/multi-user.target.wants/launcho.service
dpkg-query -W -f='\${Status}\\n' launcho
cmp /etc/launcho/config.yaml ${configTemplate} && echo conffile-as-template
bash -c 'source /usr/share/bash-completion/completions/launcho; COMP_WORDS=(launcho stat); COMP_CWORD=1; _launcho_autocomplete; echo "bash: \${COMPREPLY[*]}"'
head -n 1 /usr/share/zsh/vendor-completions/_launcho
mkdir -p /run/other-node && printf '#!/bin/sh\necho "a node from PATH ran" >&2\nexit 97\n' >/run/other-node/node && chmod +x /run/other-node/node
PATH=/run/other-node:$PATH /usr/bin/launcho --version
PATH=/run/other-node:$PATH /usr/bin/launcho server --help >/dev/null && echo "server --help ran"
`)
    const [versionLine, stateDir, wants, status, conffile, bashCompletion, zshCompletion, otherNodeVersion, serverHelp] = stdout.trim().split('\n')
    // The official Node.js 24 binary, not whatever node built the package.
    assert.match(versionLine!, new RegExp(`^launcho/${versionText} linux-\\w+ node-v24\\.`))
    assert.equal(bashCompletion, 'bash: status', 'bash completes "launcho stat" to status')
    assert.equal(zshCompletion, '#compdef launcho')
    assert.equal(stateDir, '711 root:root')
    assert.equal(wants, '/lib/systemd/system/launcho.service')
    assert.equal(status, 'install ok installed')
    assert.equal(conffile, 'conffile-as-template')
    // A `node` first on PATH (Debian's own nodejs, nvm's) is never used: only /usr/lib/launcho/node.
    assert.equal(otherNodeVersion, versionLine, 'the same bundled node with another node first on PATH')
    assert.equal(serverHelp, 'server --help ran', 'server (which re-executes itself with V8 flags) too')
  })

  it('ships a man page that renders without warnings and covers the target format, exit status, environment and files', async () => {
    const {stdout, stderr} = await inRootWithoutSystemd(`
dpkg -i ${deb} >/dev/null 2>&1
# Wide, unhyphenated and without overstrike, so that every name reads whole.
zcat /usr/share/man/man1/launcho.1.gz | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -rLL=300n -rHY=0 -P-cbou
`)
    assert.equal(stderr, '', 'groff -ww warns of nothing')
    for (const section of ['NAME', 'SYNOPSIS', 'COMMANDS', 'TARGET FORMAT', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'NOTES']) {
      assert.match(stdout, new RegExp(`^${section}$`, 'm'), section)
    }
    const text = stdout
    for (const field of ['replicas', 'maxSurge', 'health', 'startupDeadline', 'resources', 'before', 'receives', 'services', 'memoryMax']) assert.match(text, new RegExp(`\\b${field}\\b`), field)
    for (const name of ['LAUNCHO_AUTH', 'LAUNCHO_CONFIG', 'LAUNCHO_JOURNAL_ROOT', 'DBUS_SYSTEM_BUS_ADDRESS', 'LAUNCHO_LOG_LEVEL', 'EDITOR', 'NO_COLOR']) assert.match(text, new RegExp(name), name)
    for (const file of ['/etc/launcho/config.yaml', '/usr/share/dbus-1/system.d/dev.launcho.Server.conf', '/usr/lib/launcho/node', 'launcho-server-auth.yaml', 'secrets.json', '_launcho']) assert.ok(text.includes(file), file)
    assert.match(text, /^ {7}130 /m, 'exit status 130')
  })

  describe('on a systemd host (the sandbox, with the host root as an overlay)', () => {
    let h: Harness
    const unit = 'launcho.service'
    const processUnit = async () => (await h.units()).find((name) => name.startsWith('launcho-sleeper-'))

    before(async () => {
      h = await Harness.start({server: false})
      await overlayRootInSandbox(h)
      // This machine image carries Docker's policy-rc.d ("exit 101": never start services from
      // maintainer scripts); a systemd host has none.
      await h.inside(['rm', '-f', '/usr/sbin/policy-rc.d'])
      // The sandbox's systemd loads units only from its private dir; on a host, that dir's place
      // is taken by /lib/systemd/system, where dpkg puts the unit.
      await h.inside(['ln', '-s', `/lib/systemd/system/${unit}`, `/run/launcho-sandbox/units/${unit}`])
    })
    after(async () => h?.close())

    it('dpkg -i enables and starts launcho.service; status answers with the auth from print-auth', async () => {
      await dpkg(h, ['-i', deb])
      assert.match(await h.inside(['/usr/bin/launcho', '--version']), new RegExp(`^launcho/${versionText} `))
      await waitFor('the server logs that it is ready', async () => /launcho server ready/.test(await h.journal(['-u', unit])), 20_000)
      assert.deepEqual(await h.unit(unit, ['ActiveState', 'SubState', 'UnitFileState']), {ActiveState: 'active', SubState: 'running', UnitFileState: 'linked-runtime'})
      assert.match(await h.journal(['-u', unit, '-o', 'cat']), /"stateDir":"\/var\/lib\/launcho".*launcho server ready/, 'journalctl -u launcho shows the server')

      const auth = await h.inside(['/usr/bin/launcho', 'print-auth', '--host', '127.0.0.1:12888'])
      await writeFile(h.authFile, auth, {mode: 0o600})
      const status = await h.ok(['status'])
      assert.match(status, new RegExp(`^launcho ${versionText}, load balancer: `))
      assert.equal((await h.inside(['stat', '-c', '%a', '/var/lib/launcho'])).trim(), '711')
    })

    it("ships the bus policy that lets the server own dev.launcho.Server, and the server owns it", async () => {
      const policy = '/usr/share/dbus-1/system.d/dev.launcho.Server.conf'
      assert.equal(await h.inside(['cat', policy]), await readFile(join(repoRoot, 'templates', 'dev.launcho.Server.conf'), 'utf8'))
      // The overlaid /etc hides the sandbox's own copy of the policy: after postinst's ReloadConfig
      // the bus has only the package's file to go by.
      assert.equal(await exists(h, '/etc/dbus-1/system.d/dev.launcho.Server.conf'), false)
      assert.match(await h.journal(['-u', 'dbus.service', '-o', 'cat']), /Reloaded configuration/)
      const owner = async (property: string) => (await h.inside(['busctl', 'get-property', 'dev.launcho.Server', '/dev/launcho/Server', 'dev.launcho.Server', property])).trim()
      assert.equal(await owner('Pid'), `u ${(await h.unit(unit, ['MainPID'])).MainPID}`)
      assert.equal(await owner('StateDir'), 's "/var/lib/launcho"')
    })

    it('runs the server with its hardening in force', async () => {
      const pid = (await h.unit(unit, ['MainPID'])).MainPID!
      const procStatus = await h.inside(['cat', `/proc/${pid}/status`])
      assert.match(procStatus, /^NoNewPrivs:\s+1$/m)
      assert.match(procStatus, /^Seccomp:\s+2$/m)
      const probe = await h.inside(['nsenter', '-t', pid, '-m', 'sh', '-c', `
for path in /usr/lib/launcho/.probe /etc/launcho/.probe /var/lib/launcho/.probe; do
  if touch "$path" 2>/dev/null; then echo "$path writable"; rm "$path"; else echo "$path read-only"; fi
done
if (echo 0 >/proc/sys/net/ipv4/ip_forward) 2>/dev/null; then echo "sysctl writable"; else echo "sysctl read-only"; fi
`])
      assert.deepEqual(probe.trim().split('\n'), [
        '/usr/lib/launcho/.probe read-only',
        '/etc/launcho/.probe read-only',
        '/var/lib/launcho/.probe writable',
        'sysctl read-only',
      ])
    })

    it('upgrades by restarting only the server: the processes it runs keep their PIDs', async () => {
      await h.setTarget('processes:\n  - name: sleeper\n    command: ["sleep", "600"]\n    uid: nobody\n')
      await waitFor('sleeper running', async () => (await h.status()).processes[0]?.state === 'running')
      const sleeper = (await processUnit())!
      const before = await h.unit(sleeper, ['MainPID', 'NRestarts'])
      const serverBefore = (await h.unit(unit, ['MainPID'])).MainPID

      await dpkg(h, ['-i', deb])
      const serverAfter = (await h.unit(unit, ['MainPID', 'ActiveState']))
      assert.notEqual(serverAfter.MainPID, serverBefore, 'the server was restarted')
      assert.equal(serverAfter.ActiveState, 'active')
      assert.deepEqual(await h.unit(sleeper, ['MainPID', 'NRestarts']), before, 'same process, never restarted')
      await waitFor('the new server adopts it', async () => (await h.status()).processes[0]?.state === 'running', 20_000)
    })

    it('dpkg -r stops the server and leaves the processes running; purge drops config and unit links, keeps the state', async () => {
      const sleeper = (await processUnit())!
      const before = await h.unit(sleeper, ['MainPID', 'ActiveState'])
      await h.ok(['secret', 'set', 'PURGE_KEEPS', 'kept-value'])
      const state = ['launcho-server-auth.yaml', 'secrets.json', 'version-key', 'target.yaml'].map((name) => `/var/lib/launcho/${name}`)
      const stateBefore = await h.inside(['sh', '-c', 'stat -c "%n %a" "$@" && sha256sum "$@"', 'state', ...state])
      await dpkg(h, ['-r', 'launcho'])
      assert.notEqual((await h.unit(unit, ['ActiveState'])).ActiveState, 'active')
      assert.deepEqual(await h.unit(sleeper, ['MainPID', 'ActiveState']), before)
      assert.equal(await exists(h, '/usr/bin/launcho'), false)
      assert.equal(await exists(h, '/etc/launcho/config.yaml'), true, 'remove keeps the conffile')

      const purge = await dpkg(h, ['-P', 'launcho'])
      assert.match(purge, /kept \/var\/lib\/launcho/)
      assert.match(purge, /systemctl stop launcho\.slice && rm -rf \/var\/lib\/launcho/, 'postrm says how to remove it by hand')
      assert.equal(await exists(h, '/etc/launcho'), false)
      assert.equal(await exists(h, '/etc/systemd/system/multi-user.target.wants/launcho.service'), false)
      // Server key and token, secrets, version key and target: all kept, unchanged, still 0600.
      assert.equal(await h.inside(['sh', '-c', 'stat -c "%n %a" "$@" && sha256sum "$@"', 'state', ...state]), stateBefore)
      assert.deepEqual(await h.unit(sleeper, ['MainPID', 'ActiveState']), before)

      // Reinstalled, the server comes back with the same key and token (the old client auth file
      // works), the same secrets, and adopts the process that ran on unmanaged.
      await dpkg(h, ['-i', deb])
      await waitFor('the reinstalled server answers with the old auth and adopts sleeper', async () => (await h.status()).processes[0]?.state === 'running', 20_000)
      assert.deepEqual(await h.unit(sleeper, ['MainPID', 'ActiveState']), before, 'never restarted')
      assert.match(await h.ok(['secret', 'ls']), /PURGE_KEEPS/)
    })
  })
})

/**
 * dpkg inside the sandbox; its output (stdout and stderr). SYSTEMCTL_INSTALL_CLIENT_SIDE makes
 * `systemctl is-enabled` (which deb-systemd-invoke asks before a start) read the unit files, as
 * the sandbox's systemd only knows its private unit dir; on a host, both give the same answer.
 */
async function dpkg(h: Harness, args: string[]): Promise<string> {
  const [nsenter, ...prefix] = h.sandbox.inside()
  const {stdout, stderr} = await run(nsenter!, [...prefix, 'dpkg', ...args], {
    env: {...process.env, SYSTEMCTL_INSTALL_CLIENT_SIDE: '1', DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'},
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout + stderr
}

async function exists(h: Harness, path: string): Promise<boolean> {
  return (await h.inside(['sh', '-c', `test -e "$1" && echo yes || echo no`, 'exists', path])).trim() === 'yes'
}
