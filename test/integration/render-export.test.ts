/**
 * The units launcho shows and exports are the units it starts: `t render`'s text, loaded into
 * systemd as a unit file, reads back (`systemctl show`) the same as the started transient unit on
 * every property launcho sets; `t diff` names the properties a change moves; `export` writes files
 * that `systemd-analyze verify` accepts and that, installed in systemd, run the same process.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {Harness, waitFor} from '../helpers/harness.js'
import {get, webApp} from '../helpers/services.js'

const run = promisify(execFile)
const SECRET = 's3cret-greeting'

/** Each directive launcho renders → the properties `systemctl show` reports it as. */
const SHOWN_AS: Record<string, string[]> = {
  Description: ['Description'],
  After: ['After'],
  StartLimitIntervalSec: ['StartLimitIntervalUSec'],
  CollectMode: ['CollectMode'],
  Slice: ['Slice'],
  Type: ['Type'],
  ExecStart: ['ExecStartEx'],
  ExecStartPre: ['ExecStartPreEx'],
  Restart: ['Restart'],
  RestartSec: ['RestartUSec'],
  WorkingDirectory: ['WorkingDirectory'],
  Environment: ['Environment'],
  StandardOutput: ['StandardOutput'],
  StandardError: ['StandardError'],
  SyslogIdentifier: ['SyslogIdentifier'],
  LogExtraFields: ['LogExtraFields'],
  KillMode: ['KillMode'],
  TimeoutStopSec: ['TimeoutStopUSec'],
  TimeoutStartSec: ['TimeoutStartUSec'],
  EnvironmentFile: ['EnvironmentFiles'],
  User: ['User'],
  Group: ['Group'],
  MemoryMax: ['MemoryMax'],
  MemorySwapMax: ['MemorySwapMax'],
  CPUAccounting: ['CPUAccounting'],
  MemoryAccounting: ['MemoryAccounting'],
  TasksAccounting: ['TasksAccounting'],
  IOAccounting: ['IOAccounting'],
  CPUQuota: ['CPUQuotaPerSecUSec'],
  CPUWeight: ['CPUWeight'],
  TasksMax: ['TasksMax'],
  LimitNOFILE: ['LimitNOFILE', 'LimitNOFILESoft'],
  LimitCORE: ['LimitCORE', 'LimitCORESoft'],
  Nice: ['Nice'],
  OOMScoreAdjust: ['OOMScoreAdjust'],
  KillSignal: ['KillSignal'],
}

/** `{ path=… ; argv[]=… ; flags=… ; start_time=… ; pid=… }`: what was configured, not how the last run went. */
const configured = (value: string) => value.replace(/\s*;\s*(start_time|stop_time|pid|code|status)=[^;}]*/g, '')

const directivesOf = (text: string) => [...new Set(text.split('\n').filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => line.slice(0, line.indexOf('='))))]

describe('render and export', () => {
  let h: Harness
  let unitDir: string
  let instance: string
  let port: number
  before(async () => {
    h = await Harness.start()
    unitDir = `/proc/${h.sandbox.pid1}/root/run/launcho-sandbox/units`
    await h.ok(['secret', 'set', 'GREETING', SECRET])
    await h.setTarget(
      `
services:
  - name: web
    on: 127.0.0.1:5000
processes:
  - name: web
    command: ["${process.execPath}", "${webApp}", "100%", "$SERVICE_PORT_WEB"]
    cwd: ${h.dir}
    uid: daemon
    gid: daemon
    before: 'echo "preparing $APP_VERSION"'
    receives: [web]
    env: {APP_VERSION: "\${GREETING}", MODE: plain}
    memoryMax: 256M
    cpuQuota: 80%
    cpuWeight: 200
    tasksMax: 64
    limitNOFILE: "1024:4096"
    nice: 2
    systemd:
      LimitCORE: 0
      OOMScoreAdjust: 300
      KillSignal: SIGINT
`,
      {wait: true},
    )
    const web = (await h.status()).processes.find((p) => p.name === 'web')!.instances[0]!
    instance = web.unit
    port = web.ports.web!
  })
  after(async () => h?.close())

  it('renders the unit that runs, property for property (systemctl show of both)', async () => {
    const text = await h.ok(['t', 'render', 'web'])
    assert.ok(!text.includes(SECRET), 'the secret never shows')
    assert.match(text, /^# +APP_VERSION="\$\{GREETING\}"$/m)
    assert.match(text, new RegExp(`^Environment="SERVICE_PORT_WEB=${port}"$`, 'm'))
    assert.match(text, /^ExecStart=":\/.*" "100%%" "\d+"$/m)
    const directives = directivesOf(text)
    const missing = directives.filter((name) => !SHOWN_AS[name])
    assert.deepEqual(missing, [], 'every rendered directive is compared')
    const properties = directives.flatMap((name) => SHOWN_AS[name]!)
    // Read before the reload that loads the rendered file: systemd 252 writes a transient unit's
    // commands as ExecStartEx= lines, which its own unit-file parser does not know.
    const started = await h.unit(instance, properties)
    await writeFile(join(unitDir, 'rendered-web.service'), text)
    await h.inside(['systemctl', 'daemon-reload'])
    const loaded = await h.unit('rendered-web.service', properties)
    for (const name of properties) {
      assert.equal(configured(loaded[name] ?? '(none)'), configured(started[name] ?? '(none)'), `${name} as rendered vs as started`)
    }
    console.log(`t render matches systemctl show on ${properties.length} properties: ${properties.join(', ')}`)
  })

  it('shows in t diff what a change moves in the unit', async () => {
    const target = await h.ok(['t', 'get'])
    const changed = target.replace('memoryMax: 256M', 'memoryMax: 512M').replace('    nice: 2\n', '').replace('tasksMax: 64', 'tasksMax: 64\n    ioWeight: 300')
    const diff = await h.ok(['t', 'diff', await h.writeFile('changed.yaml', changed)])
    assert.match(diff, /^replace {2}web \(\w+ -> \w+\): .*$/m)
    const lines = diff.split('\n').slice(1).map((line) => line.trim()).filter(Boolean)
    assert.deepEqual(lines.sort(), ['+IOWeight=300', '-Nice=2', 'MemoryMax 256M → 512M'])
    const json = JSON.parse(await h.ok(['t', 'diff', await h.writeFile('changed.yaml', changed), '--json']))
    assert.deepEqual(json.changes[0].properties.sort(), ['+IOWeight=300', '-Nice=2', 'MemoryMax 256M → 512M'])
  })

  it('renders a target file without setting it, validated like t diff', async () => {
    const text = await h.ok(['t', 'render', '--file', await h.writeFile('other.yaml', 'processes:\n  - name: other\n    command: [/bin/sleep, "60"]\n    tasksMax: infinity\n')])
    assert.match(text, /^TasksMax=infinity$/m)
    assert.deepEqual(await h.units(), [instance], 'nothing started')
    const bad = await h.cli(['t', 'render', '--file', await h.writeFile('bad.yaml', 'processes:\n  - name: other\n    command: [/bin/sleep]\n    cpuQuota: 50\n')])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /bad\.yaml:4:15: processes\[0\]\.cpuQuota: cpuQuota must be a percentage/)
  })

  it('exports files that systemd-analyze verify accepts and that run the same process', async () => {
    const dir = join(h.dir, 'export')
    const out = await h.ok(['export', '--dir', dir])
    assert.match(out, /wrote .*launcho-web\.service/)
    const files = (await readdir(dir)).sort()
    assert.deepEqual(files, ['launcho-web.env', 'launcho-web.service'])
    assert.equal((await stat(join(dir, 'launcho-web.env'))).mode & 0o777, 0o600)
    assert.match(await readFile(join(dir, 'launcho-web.env'), 'utf8'), new RegExp(`APP_VERSION="${SECRET}"`))
    const unitText = await readFile(join(dir, 'launcho-web.service'), 'utf8')
    assert.match(unitText, /\n\[Install\]\nWantedBy=multi-user.target\n$/)
    assert.match(unitText, new RegExp(`^EnvironmentFile=${dir}/launcho-web.env$`, 'm'))
    assert.doesNotMatch(unitText, /LAUNCHO_SERVER|CollectMode|StartLimitIntervalSec/)
    const verified = await run('systemd-analyze', ['verify', '--man=no', join(dir, 'launcho-web.service')]).then(
      (r) => `${r.stdout}${r.stderr}`,
      (e: {stdout: string; stderr: string}) => `failed: ${e.stdout}${e.stderr}`,
    )
    assert.equal(verified.split('\n').filter((line) => line.includes('launcho-web')).join('\n'), '', 'no warning about the file')

    // Without launcho's instance (it holds the port), installed by hand, it serves the same.
    await h.setTarget('processes: []\n', {allowEmpty: true})
    await waitFor('launcho stopped its instance', async () => (await h.units()).length === 0)
    await writeFile(join(unitDir, 'launcho-web.service'), unitText)
    await h.inside(['systemctl', 'daemon-reload'])
    await h.inside(['systemctl', 'start', 'launcho-web.service'])
    const answer = await waitFor('the exported unit serves', async () => {
      const body = await get(h, `http://127.0.0.1:${port}/`)
      return body.startsWith('200 ') && body
    })
    assert.match(answer, new RegExp(`^200 ${SECRET} \\d+$`))
    const props = await h.unit('launcho-web.service', ['User', 'OOMScoreAdjust', 'TasksMax', 'CPUQuotaPerSecUSec', 'ActiveState'])
    assert.deepEqual(props, {User: 'daemon', OOMScoreAdjust: '300', TasksMax: '64', CPUQuotaPerSecUSec: '800ms', ActiveState: 'active'})
  })
})
