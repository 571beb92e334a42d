import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {Harness, waitFor} from '../helpers/harness.js'

const threeProcesses = `
processes:
  - name: alpha
    command: ["/bin/sh", "-c", "echo \\"alpha user=$(id -un) cwd=$(pwd) GREETING=$GREETING before=$(cat before.txt)\\"; exec sleep 600"]
    env:
      GREETING: hello world
    uid: nobody
    before: echo "ran-as-$(id -un)-with-$GREETING" > before.txt
  - name: beta
    command: ["/bin/sh", "-c", "echo beta user=$(id -un) group=$(id -gn) cwd=$(pwd); exec sleep 600"]
    cwd: /var/tmp
    uid: daemon
    gid: daemon
  - name: gamma
    command: ["sleep", "600"]
`

describe('a target becomes running systemd units', () => {
  let h: Harness
  before(async () => {
    h = await Harness.start()
  })
  after(async () => h?.close())

  const mainPid = async (unit: string) => Number((await h.unit(unit, ['MainPID'])).MainPID)
  const unitOf = async (process: string) => {
    const status = await h.status()
    return status.processes.find((p) => p.name === process)?.instances.find((i) => i.current)
  }
  const allRunning = async (names: string[]) => {
    const status = await h.status()
    return names.every((name) => status.processes.find((p) => p.name === name)?.state === 'running') && status
  }

  it('starts three processes with their user, cwd, env, before step and journal lines, in launcho.slice', async () => {
    const out = await h.setTarget(threeProcesses)
    assert.match(out, /start\s+alpha/)
    await waitFor('all three running', () => allRunning(['alpha', 'beta', 'gamma']))
    const units = await h.units()
    assert.equal(units.length, 3, `units: ${units.join(', ')}`)
    assert.ok(units.every((u) => /^launcho-(alpha|beta|gamma)-[0-9a-f]{8}\.service$/.test(u)))

    const alpha = (await unitOf('alpha'))!.unit
    const props = await h.unit(alpha, ['Slice', 'User', 'Type', 'Restart', 'KillMode', 'CollectMode', 'Description', 'WorkingDirectory'])
    assert.equal(props.Slice, 'launcho.slice')
    assert.equal(props.User, 'nobody')
    assert.equal(props.Type, 'exec')
    assert.equal(props.Restart, 'always')
    assert.equal(props.KillMode, 'mixed')
    assert.equal(props.CollectMode, 'inactive-or-failed')
    assert.match(props.Description!, /^launcho alpha \([0-9a-f]{8}\)$/)
    assert.match(props.WorkingDirectory!, new RegExp(`^${h.stateDir}/instances/launcho-alpha-[0-9a-f]{8}$`))

    const alphaLine = await waitFor('alpha journal line', async () =>
      (await h.journal(['LAUNCHO_PROCESS=alpha', '-o', 'cat'])).split('\n').find((l) => l.startsWith('alpha user=')),
    )
    assert.equal(alphaLine, `alpha user=nobody cwd=${props.WorkingDirectory} GREETING=hello world before=ran-as-nobody-with-hello world`)
    const betaLine = await waitFor('beta journal line', async () =>
      (await h.journal(['SYSLOG_IDENTIFIER=beta', '-o', 'cat'])).split('\n').find((l) => l.startsWith('beta user=')),
    )
    assert.equal(betaLine, 'beta user=daemon group=daemon cwd=/var/tmp')
    const versionField = await h.journal(['LAUNCHO_PROCESS=alpha', '-o', 'json', '-n', '1'])
    assert.match(versionField, /"LAUNCHO_VERSION":"[0-9a-f]{8}"/)

    for (const unit of units) assert.equal((await h.unit(unit, ['Slice'])).Slice, 'launcho.slice', unit)
    assert.equal((await h.unit('launcho.slice', ['ActiveState'])).ActiveState, 'active')
  })

  it('replaces only the process whose command changed, and stops a removed process', async () => {
    const before = await h.status()
    const pidOf = (name: string) => before.processes.find((p) => p.name === name)!.instances[0]!.pid
    const oldBeta = (await unitOf('beta'))!.unit
    const changed = threeProcesses.replace('echo beta user=', 'echo beta v2 user=')
    const out = await h.setTarget(changed)
    assert.match(out, /replace\s+beta/)
    assert.doesNotMatch(out, /alpha|gamma/)
    const newBeta = await waitFor('new beta running', async () => {
      const unit = await unitOf('beta')
      return unit && unit.unit !== oldBeta && unit.activeState === 'active' && (await h.units()).length === 3 && unit
    })
    assert.ok(!(await h.units()).includes(oldBeta), 'the old beta unit is gone')
    assert.notEqual(newBeta.version, before.processes.find((p) => p.name === 'beta')!.version)
    assert.equal(await mainPid((await unitOf('alpha'))!.unit), pidOf('alpha'), 'alpha untouched')
    assert.equal(await mainPid((await unitOf('gamma'))!.unit), pidOf('gamma'), 'gamma untouched')

    const withoutGamma = changed.replace(/  - name: gamma\n    command: \["sleep", "600"\]\n/, '')
    assert.match(await h.setTarget(withoutGamma), /stop\s+gamma/)
    await waitFor('gamma unit gone', async () => !(await h.units()).some((u) => u.startsWith('launcho-gamma-')))
    assert.deepEqual((await h.status()).processes.map((p) => p.name), ['alpha', 'beta'])
  })

  it('rejects bad targets with the line, field or secret named, and leaves running units alone', async () => {
    const before = (await h.status()).processes.map((p) => [p.name, p.instances[0]!.pid])
    const unitsBefore = await h.units()
    const cases: Array<[string, string, RegExp]> = [
      ['bad-yaml.yaml', 'processes:\n  - name: x\n    command: [unclosed\n', /bad-yaml\.yaml:\d+:\d+/],
      ['unknown-key.yaml', 'processes:\n  - name: x\n    command: ["true"]\n    comand: ["typo"]\n', /unknown-key\.yaml:4:\d+: processes\[0\]\.comand/],
      ['bad-name.yaml', 'processes:\n  - name: main_server\n    command: ["true"]\n', /bad-name\.yaml:2:\d+: processes\[0\]\.name: .*\[a-z0-9-\]|lowercase letters, digits and "-"/],
      ['missing-secret.yaml', 'processes:\n  - name: x\n    command: ["true"]\n    env:\n      DB: "${DATABASE_URL}"\n', /DATABASE_URL/],
    ]
    for (const [file, text, expected] of cases) {
      const result = await h.cli(['t', 'set', await h.writeFile(file, text)])
      assert.notEqual(result.code, 0, `${file} must be refused`)
      assert.match(result.stderr, expected, `${file}: ${result.stderr}`)
    }
    const missing = await h.cli(['t', 'set', `${h.dir}/missing-secret.yaml`])
    assert.match(missing.stderr, /missing-secret\.yaml:5:\d+/)
    assert.match(missing.stderr, /launcho secret set DATABASE_URL/)
    const bad = await h.cli(['t', 'set', `${h.dir}/bad-name.yaml`])
    assert.match(bad.stderr, /main-server/, 'suggests a valid name')

    assert.deepEqual(await h.units(), unitsBefore)
    assert.deepEqual((await h.status()).processes.map((p) => [p.name, p.instances[0]!.pid]), before)
    const stored = await h.ok(['t', 'get'])
    assert.match(stored, /echo beta v2 user=/, 't get still returns the last good target')
  })

  it('substitutes secrets, keeps placeholders in `t get`, and honours the $${ escape', async () => {
    await h.ok(['secret', 'set', 'GREETING_SECRET', 'from-a-secret'])
    const text = `processes:
  - name: delta
    command: ["/bin/sh", "-c", "echo \\"delta $DELTA_GREETING $DELTA_LITERAL\\"; exec sleep 600"]
    env:
      DELTA_GREETING: "\${GREETING_SECRET}"
      DELTA_LITERAL: "$\${NOT_A_SECRET}"
`
    await h.setTarget(text)
    assert.equal(await h.ok(['t', 'get']), text)
    const line = await waitFor('delta journal line', async () =>
      (await h.journal(['LAUNCHO_PROCESS=delta', '-o', 'cat'])).split('\n').find((l) => l.startsWith('delta ')),
    )
    assert.equal(line, 'delta from-a-secret ${NOT_A_SECRET}')
  })
})
