import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatProblem, LaunchoError} from '../../src/errors.js'
import {unitLimitsOf} from '../../src/reconcile/desired.js'
import {unitFileText} from '../../src/systemd/unit-file.js'
import {limitProperties} from '../../src/systemd/unit-limits.js'
import {loadTarget, validateTarget} from '../../src/target/load.js'
import {versionOf} from '../../src/target/version.js'

const key = Buffer.alloc(32, 7)
const process = (lines: string) => `processes:\n  - name: web\n    command: [node]\n${lines.replace(/^/gm, '    ')}\n`

function refusal(text: string): string[] {
  try {
    validateTarget(text)
  } catch (error) {
    assert.ok(error instanceof LaunchoError, String(error))
    return error.problems.map((problem) => formatProblem(problem, 'target.yaml'))
  }
  assert.fail('the target was accepted')
}

describe('limits in the target', () => {
  const limited = process(
    'cpuQuota: 150%\ncpuWeight: 200\nmemoryMax: 1G\nmemoryHigh: 768M\ntasksMax: 64\nioWeight: 50\nlimitNOFILE: "1024:65536"\nnice: 5',
  )

  it('are kept as written, through secret substitution, and change the version', () => {
    const spec = loadTarget(limited, new Map()).processes[0]!
    assert.deepEqual(
      {...spec, command: undefined, env: undefined, resources: undefined, receives: undefined, name: undefined},
      {
        name: undefined,
        command: undefined,
        env: undefined,
        resources: undefined,
        receives: undefined,
        cpuQuota: '150%',
        cpuWeight: 200,
        memoryMax: '1G',
        memoryHigh: '768M',
        tasksMax: 64,
        ioWeight: 50,
        limitNOFILE: '1024:65536',
        nice: 5,
      },
    )
    const plain = validateTarget(process('')).processes[0]!
    assert.notEqual(versionOf(spec, key), versionOf(plain, key))
    assert.notEqual(versionOf(spec, key), versionOf({...spec, tasksMax: 65}, key))
    // What versionOf gave this process before limits existed: a target without them keeps its versions.
    assert.equal(versionOf(plain, key), versionOf({...plain, cpuQuota: undefined, systemd: undefined}, key))
  })

  it('become systemd properties in its units', () => {
    const spec = validateTarget(limited).processes[0]!
    const text = unitFileText(limitProperties(unitLimitsOf(spec).limits, unitLimitsOf(spec).extra))
    assert.equal(
      text,
      '[Service]\nCPUQuota=150%\nCPUWeight=200\nMemoryHigh=768M\nTasksMax=64\nIOWeight=50\nLimitNOFILE=1024:65536\nNice=5\n',
    )
    const infinite = validateTarget(process('tasksMax: infinity\nlimitNOFILE: 4096')).processes[0]!
    assert.equal(unitFileText(limitProperties(unitLimitsOf(infinite).limits)), '[Service]\nTasksMax=infinity\nLimitNOFILE=4096\n')
  })

  it('are refused with file, line and field when systemd would not take them', () => {
    assert.deepEqual(refusal(process('cpuQuota: 50')), [
      'target.yaml:4:15: processes[0].cpuQuota: cpuQuota must be a percentage like "50%" (got number 50)',
    ])
    assert.deepEqual(refusal(process('cpuQuota: "50"')), [
      'target.yaml:4:15: processes[0].cpuQuota: cpuQuota must be a percentage of one CPU like "50%" (half a core) or "150%", with at most two decimals: write "50%"',
    ])
    assert.deepEqual(refusal(process('cpuQuota: 0%')), ['target.yaml:4:15: processes[0].cpuQuota: cpuQuota must be more than 0%: leave it out for no limit'])
    assert.deepEqual(refusal(process('cpuWeight: 0')), [
      "target.yaml:4:16: processes[0].cpuWeight: cpuWeight must be a whole number from 1 to 10000 (systemd's default is 100)",
    ])
    assert.deepEqual(refusal(process('tasksMax: lots')), [
      'target.yaml:4:15: processes[0].tasksMax: tasksMax must be a whole number from 1 to 4194304, or "infinity" (got "lots")',
    ])
    assert.deepEqual(refusal(process('nice: -21')), ['target.yaml:4:11: processes[0].nice: nice must be a whole number from -20 to 19'])
    assert.deepEqual(refusal(process('limitNOFILE: "4096:1024"')), [
      "target.yaml:4:18: processes[0].limitNOFILE: limitNOFILE's soft limit (4096) must not be above its hard limit (1024)",
    ])
    assert.deepEqual(refusal(process('memoryHigh: 512')), [
      'target.yaml:4:17: processes[0].memoryHigh: memoryHigh needs a unit: write "512M" for 512 MiB (K, M, G and T are powers of 1024)',
    ])
    assert.deepEqual(refusal(process('memoryMax: 256M\nmemoryHigh: 512M')), [
      'target.yaml:5:17: processes[0].memoryHigh: memoryHigh (512M) must not be above memoryMax (256M): the process would be killed before it is throttled',
    ])
  })

  it('suggests the right spelling of a mistyped key', () => {
    assert.deepEqual(refusal(process('cpuquota: 50%')), ['target.yaml:4:5: processes[0].cpuquota: unknown key "cpuquota" (did you mean "cpuQuota"?)'])
  })
})

describe('the systemd: map', () => {
  it('takes allow-listed properties with their D-Bus signature, in the version', () => {
    const spec = validateTarget(process('systemd:\n  LimitCORE: infinity\n  OOMScoreAdjust: 500\n  KillSignal: SIGINT\n  UMask: "0027"\n  RuntimeMaxSec: 1h')).processes[0]!
    assert.deepEqual(spec.systemd, {LimitCORE: 'infinity', OOMScoreAdjust: 500, KillSignal: 'SIGINT', UMask: '0027', RuntimeMaxSec: '1h'})
    const {extra} = unitLimitsOf(spec)
    assert.deepEqual(
      extra?.map(({property, signature, value}) => `${property} ${signature} ${String(value)}`),
      ['LimitCORE t 18446744073709551615', 'LimitCORESoft t 18446744073709551615', 'OOMScoreAdjust i 500', 'KillSignal i 2', 'UMask u 23', 'RuntimeMaxUSec t 3600000000'],
    )
    assert.equal(
      unitFileText(limitProperties({}, extra)),
      '[Service]\nLimitCORE=infinity\nOOMScoreAdjust=500\nKillSignal=SIGINT\nUMask=0027\nRuntimeMaxSec=1h\n'.replace('1h', '3600s'),
    )
    const plain = validateTarget(process('')).processes[0]!
    assert.notEqual(versionOf(spec, key), versionOf(plain, key))
  })

  it('refuses what launcho sets, saying which field to use', () => {
    assert.deepEqual(refusal(process('systemd:\n  MemoryMax: 1G')), ['target.yaml:5:7: processes[0].systemd.MemoryMax: systemd.MemoryMax is set by launcho: use memoryMax'])
    assert.deepEqual(refusal(process('systemd:\n  User: root')), ['target.yaml:5:7: processes[0].systemd.User: systemd.User is set by launcho: use uid'])
  })

  it('refuses an unknown property, listing the supported ones', () => {
    const [problem] = refusal(process('systemd:\n  Frobnicate: yes'))
    assert.match(problem!, /^target\.yaml:5:7: processes\[0\]\.systemd\.Frobnicate: systemd\.Frobnicate is not supported; launcho supports LimitCORE, .*OOMScoreAdjust.*UMask$/)
  })

  it('refuses a value of the wrong type, with its line', () => {
    assert.deepEqual(refusal(process('systemd:\n  OOMScoreAdjust: 5000')), [
      'target.yaml:5:23: processes[0].systemd.OOMScoreAdjust: systemd.OOMScoreAdjust must be a whole number from -1000 to 1000 (got number 5000)',
    ])
    assert.deepEqual(refusal(process('systemd:\n  LimitCORE: "10:5"')), [
      "target.yaml:5:18: processes[0].systemd.LimitCORE: LimitCORE's soft limit must not be above its hard limit",
    ])
    assert.deepEqual(refusal(process('systemd: [LimitCORE]')), [
      'target.yaml:4:14: processes[0].systemd: systemd must be a map of unit properties, e.g. {LimitCORE: infinity} (got a list)',
    ])
  })
})
