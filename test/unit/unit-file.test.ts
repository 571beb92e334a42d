import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import dbus from 'dbus-next'
import {toCheckProperties} from '../../src/systemd/check-unit.js'
import {byteSize, quotedWord, timeSpan, unitFileText, UnitFileError} from '../../src/systemd/unit-file.js'
import {toDbusProperties, type UnitSpec} from '../../src/systemd/unit-spec.js'

const {Variant} = dbus

const spec: UnitSpec = {
  name: 'launcho-web-3f9a1c2e.service',
  description: 'launcho web (3f9a1c2e) at 100%',
  command: ['/usr/bin/node', 'server.js', '--greeting', 'hello "world" $HOME ${X} 50%', ''],
  before: 'echo "${V}"\n\tcp a\\b c',
  env: {SERVICE_PORT_WEB: '5000', SPACED: 'a b'},
  environmentFile: '/var/lib/launcho/environments/launcho-web-3f9a1c2e.env',
  user: 'www-data',
  group: 'nogroup',
  workingDirectory: '/srv/web',
  syslogIdentifier: 'web',
  journalFields: {LAUNCHO_PROCESS: 'web', LAUNCHO_VERSION: '3f9a1c2e'},
  restartDelayMs: 100,
  stopTimeoutMs: 30_000,
  startTimeoutMs: 90_500,
  memoryMaxBytes: 512n * 1024n ** 2n,
}

/** systemd-analyze verify prints a warning for any line it could not take (and still exits 0). */
function verify(text: string, name = 'launcho-web-3f9a1c2e.service'): string {
  const dir = mkdtempSync(join('/var/tmp', 'launcho-unit-file-'))
  try {
    writeFileSync(join(dir, name), text)
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, name)], {encoding: 'utf8'})
    return `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes(name)).join('\n')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
const haveAnalyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()

describe('unit-file text of launcho properties', () => {
  const text = unitFileText(toDbusProperties(spec))

  it('maps D-Bus names to directives, in their sections', () => {
    assert.match(text, /^\[Unit\]\nDescription=launcho web \(3f9a1c2e\) at 100%%\nStartLimitIntervalSec=0\nCollectMode=inactive-or-failed\n\n\[Service\]\n/)
    for (const line of [
      'Slice=launcho.slice',
      'Type=exec',
      'Restart=always',
      'RestartSec=100ms',
      'TimeoutStopSec=30s',
      'TimeoutStartSec=90500ms',
      'WorkingDirectory=/srv/web',
      'User=www-data',
      'Group=nogroup',
      'EnvironmentFile=/var/lib/launcho/environments/launcho-web-3f9a1c2e.env',
      'Environment="SERVICE_PORT_WEB=5000"',
      'Environment="SPACED=a b"',
      'LogExtraFields="LAUNCHO_PROCESS=web"',
      'LogExtraFields="LAUNCHO_VERSION=3f9a1c2e"',
      'SyslogIdentifier=web',
      'MemoryMax=512M',
      'MemorySwapMax=0',
      'KillMode=mixed',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing ${line} in\n${text}`)
    }
    assert.ok(!/\[Install\]/.test(text))
  })

  it('writes commands with the no-env-expand prefix, every word quoted and escaped', () => {
    assert.ok(
      text.includes('ExecStart=":/usr/bin/node" "server.js" "--greeting" "hello \\"world\\" $HOME ${X} 50%%" ""\n'),
      text,
    )
    assert.ok(text.includes('ExecStartPre=":/bin/sh" "-ec" "echo \\"${V}\\"\\n\\tcp a\\\\b c"\n'), text)
  })

  it('is accepted by systemd-analyze verify without a warning', {skip: !haveAnalyze}, () => {
    // The user and env file need not exist for verify; the warnings it gives are about syntax.
    assert.equal(verify(text), '')
    const check = toCheckProperties({
      name: 'launcho.check-web-3f9a1c2e-00000000.service',
      instance: 'launcho-web-3f9a1c2e.service',
      command: ['/bin/test', '-e', '$READY'],
      workingDirectory: '/',
      environmentFile: '/env',
      env: {},
      timeoutMs: 1000,
      stdoutFile: '/o',
      stderrFile: '/e',
    })
    const checkText = unitFileText(check)
    assert.match(checkText, /StandardOutput=file:\/o\nStandardError=file:\/e\n/)
    assert.match(checkText, /LogLevelMax=notice/)
    assert.match(checkText, /PartOf=launcho-web-3f9a1c2e.service/)
    assert.equal(verify(checkText, 'launcho.check-web-3f9a1c2e-00000000.service'), '')
  })

  it('adds a header and an [Install] section when asked', () => {
    const installed = unitFileText(toDbusProperties(spec), {header: ['written by launcho export', ''], install: {WantedBy: ['multi-user.target']}})
    assert.match(installed, /^# written by launcho export\n#\n\n\[Unit\]/)
    assert.match(installed, /\n\[Install\]\nWantedBy=multi-user.target\n$/)
  })
})

describe('values', () => {
  it('time spans and sizes read back as the same number', () => {
    assert.equal(timeSpan(0n), '0')
    assert.equal(timeSpan(100_000n), '100ms')
    assert.equal(timeSpan(1_500n), '1500us')
    assert.equal(timeSpan(2n ** 64n - 1n), 'infinity')
    assert.equal(byteSize(1536n * 1024n), '1536K')
    assert.equal(byteSize(1024n ** 3n), '1G')
    assert.equal(byteSize(1000n), '1000')
    assert.equal(byteSize(0n), '0')
  })

  it('quotes control characters as C escapes and refuses NUL', () => {
    assert.equal(quotedWord('a\x01b'), '"a\\x01b"')
    assert.throws(() => quotedWord('a\0b'), /NUL/)
  })

  it('CPU quota as a percentage', () => {
    const render = (usec: bigint) => unitFileText([['CPUQuotaPerSecUSec', new Variant('t', usec)]])
    assert.equal(render(500_000n), '[Service]\nCPUQuota=50%\n')
    assert.equal(render(1_505_000n), '[Service]\nCPUQuota=150.5%\n')
    assert.equal(render(120_500n), '[Service]\nCPUQuota=12.05%\n')
  })
})

describe('refusals: nothing is silently dropped', () => {
  it('a property without a directive', () => {
    assert.throws(
      () => unitFileText([['Frobnicate', new Variant('s', 'x')]]),
      (error: unknown) => error instanceof UnitFileError && error.property === 'Frobnicate' && /no unit-file directive/.test(error.message),
    )
  })

  it('a known property with another signature', () => {
    assert.throws(() => unitFileText([['MemoryMax', new Variant('s', '1G')]]), /signature is t, got s/)
  })

  it('a raw value the file cannot hold exactly', () => {
    assert.throws(() => unitFileText([['Description', new Variant('s', 'a\nb')]]), /Description.*control characters/)
    assert.throws(() => unitFileText([['Description', new Variant('s', ' padded')]]), /blanks/)
    assert.throws(() => unitFileText([['WorkingDirectory', new Variant('s', '/srv/x\\')]]), /backslash/)
    assert.throws(() => unitFileText([['Type', new Variant('s', 'exec simple')]]), /Type.*not a plain word/)
  })

  it('a program that would read as a prefix', () => {
    assert.throws(() => unitFileText([['ExecStartEx', new Variant('a(sasas)', [['-x', ['-x'], []]])]]), /prefix/)
  })

  it('an exec flag it does not know', () => {
    assert.throws(() => unitFileText([['ExecStartEx', new Variant('a(sasas)', [['/bin/x', ['/bin/x'], ['sudo']]])]]), /exec flag/)
  })

  it('argv[0] other than the path goes with @', () => {
    const text = unitFileText([['ExecStartEx', new Variant('a(sasas)', [['/bin/busybox', ['sh', '-c', 'x'], ['no-env-expand']]])]])
    assert.equal(text, '[Service]\nExecStart=":@/bin/busybox" "sh" "-c" "x"\n')
  })
})
