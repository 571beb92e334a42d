/**
 * The sandbox presets and credentials as unit-file text: systemd-analyze verify takes every line,
 * and systemd-analyze security scores them as launcho reports (parsed from its text output).
 */
import assert from 'node:assert/strict'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {ExposureError, ExposureScorer, exposureKey, parseSecurityOutput} from '../../src/systemd/exposure.js'
import {presetDirectives, type SandboxSpec} from '../../src/systemd/sandbox-presets.js'
import {unitFileText} from '../../src/systemd/unit-file.js'
import {toDbusProperties, type UnitSpec} from '../../src/systemd/unit-spec.js'

const base: UnitSpec = {
  name: 'launcho-web-3f9a1c2e.service',
  description: 'launcho web (3f9a1c2e)',
  command: ['/usr/bin/node', 'server.js'],
  env: {SERVICE_PORT_WEB: '5000'},
  environmentFile: '/var/lib/launcho/environments/launcho-web-3f9a1c2e.env',
  user: 'www-data',
  workingDirectory: '/var/lib/launcho/instances/launcho-web-3f9a1c2e',
  syslogIdentifier: 'web',
  journalFields: {LAUNCHO_PROCESS: 'web'},
  restartDelayMs: 100,
  stopTimeoutMs: 10_000,
  startTimeoutMs: 300_000,
}
const sandbox = (preset: SandboxSpec['preset'], extra: Partial<SandboxSpec> = {}): SandboxSpec => ({preset, writablePaths: [base.workingDirectory], ...extra})

function verify(text: string): string {
  const dir = mkdtempSync(join('/var/tmp', 'launcho-sandbox-units-'))
  try {
    writeFileSync(join(dir, base.name), text)
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, base.name)], {encoding: 'utf8'})
    return `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes(base.name)).join('\n')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

describe('sandbox presets as unit files', () => {
  it('strict, with credentials and MemoryDenyWriteExecute, renders lines systemd-analyze verify takes', () => {
    const text = unitFileText(toDbusProperties({...base, sandbox: sandbox('strict', {memoryDenyWriteExecute: true}), credentials: {DB: '/var/lib/launcho/environments/x.credentials/DB'}}))
    for (const line of [
      'ProtectSystem=strict',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service',
      'SystemCallErrorNumber=EPERM',
      'CapabilityBoundingSet=',
      'RestrictNamespaces=yes',
      'MemoryDenyWriteExecute=yes',
      `BindPaths=${base.workingDirectory}:${base.workingDirectory}:rbind`,
      'LoadCredential=DB:/var/lib/launcho/environments/x.credentials/DB',
    ]) {
      assert.ok(text.split('\n').includes(line), `${line} in\n${text}`)
    }
    assert.equal(verify(text), '')
  })

  it('a dynamic user gets DynamicUser, its User= and StateDirectory=, and no bind', () => {
    const text = unitFileText(toDbusProperties({...base, user: undefined, sandbox: {preset: 'basic', writablePaths: [], dynamicUser: 'launcho-web-3f9a1c2e'}}))
    assert.match(text, /^DynamicUser=yes\nUser=launcho-web-3f9a1c2e\nStateDirectory="launcho-web-3f9a1c2e"$/m)
    assert.doesNotMatch(text, /BindPaths/)
    assert.equal(verify(text), '')
  })

  it('strict is basic with ProtectSystem raised and more added; none adds nothing', () => {
    const basic = presetDirectives('basic').map((d) => d.name)
    const strict = presetDirectives('strict').map((d) => d.name)
    assert.ok(basic.every((name) => strict.includes(name)))
    assert.equal(presetDirectives('basic').find((d) => d.name === 'ProtectSystem')!.value, 'full')
    assert.equal(presetDirectives('strict').find((d) => d.name === 'ProtectSystem')!.value, 'strict')
    assert.deepEqual(presetDirectives('none'), [])
    assert.doesNotMatch(unitFileText(toDbusProperties(base)), /Protect|Private|NoNewPrivileges/)
  })

  it('scores none as UNSAFE, basic below it and strict under 3, several units in one run', async () => {
    const scorer = new ExposureScorer()
    const units = new Map([
      ['none', unitFileText(toDbusProperties(base))],
      ['basic', unitFileText(toDbusProperties({...base, sandbox: sandbox('basic')}))],
      ['strict', unitFileText(toDbusProperties({...base, sandbox: sandbox('strict')}))],
    ])
    const scored = await scorer.score(units)
    const [none, basic, strict] = ['none', 'basic', 'strict'].map((name) => scored.get(name)!)
    assert.equal(none!.rating, 'UNSAFE')
    assert.ok(none!.score > 9 && basic!.score < none!.score && strict!.score < 3, JSON.stringify({none, basic, strict}))
    assert.ok(none!.costs.length === 5 && none!.costs[0]!.exposure >= none!.costs[4]!.exposure)
  })

  it('scores units that differ only in what the assessment does not read alike, each analyzed on its own', async () => {
    // Two processes of one target: other names, commands, users, paths, limits and credentials.
    const other: UnitSpec = {
      ...base,
      name: 'launcho-worker-77aa01bc.service',
      description: 'launcho worker (77aa01bc)',
      command: ['/bin/sh', '-c', 'exec sleep 1000'],
      env: {QUEUE: 'jobs'},
      environmentFile: '/var/lib/launcho/environments/launcho-worker-77aa01bc.env',
      user: 'daemon',
      workingDirectory: '/var/lib/launcho/instances/launcho-worker-77aa01bc',
      syslogIdentifier: 'worker',
      journalFields: {LAUNCHO_PROCESS: 'worker'},
      memoryMaxBytes: 512n * 1024n * 1024n,
      credentials: {DB: '/var/lib/launcho/environments/launcho-worker-77aa01bc.credentials/DB'},
    }
    const pairs: Array<[string, UnitSpec, UnitSpec]> = [
      ['none', base, other],
      ['basic', {...base, sandbox: sandbox('basic')}, {...other, sandbox: {...sandbox('basic'), writablePaths: [other.workingDirectory]}}],
      ['strict', {...base, sandbox: sandbox('strict')}, {...other, sandbox: {...sandbox('strict'), writablePaths: [other.workingDirectory]}}],
      [
        'dynamic user',
        {...base, user: undefined, sandbox: {preset: 'strict', writablePaths: [], dynamicUser: 'launcho-web-3f9a1c2e'}},
        {...other, user: undefined, sandbox: {preset: 'strict', writablePaths: [], dynamicUser: 'launcho-worker-77aa01bc'}},
      ],
    ]
    const keys = new Set<string>()
    for (const [preset, a, b] of pairs) {
      const [textA, textB] = [a, b].map((spec) => unitFileText(toDbusProperties(spec)))
      assert.notEqual(textA, textB)
      assert.equal(exposureKey(textA!), exposureKey(textB!), preset)
      keys.add(exposureKey(textA!))
      // Each scored by a scorer of its own, so that systemd-analyze reads each full text.
      const [scoreA, scoreB] = await Promise.all([textA!, textB!].map(async (text) => (await new ExposureScorer().score(new Map([['u', text]]))).get('u')))
      assert.deepEqual(scoreA, scoreB, `${preset}: ${JSON.stringify({scoreA, scoreB})}`)
    }
    assert.equal(keys.size, pairs.length, 'each sandbox setting has a key of its own')
    // What the assessment tells apart stays apart: root and nobody against another user.
    const asUser = (user: string | undefined) => exposureKey(unitFileText(toDbusProperties({...base, user})))
    assert.equal(new Set([asUser('www-data'), asUser('root'), asUser('nobody'), asUser(undefined)]).size, 4)
    const [root, nobody, someone] = await Promise.all(['root', 'nobody', 'www-data'].map(async (user) => (await new ExposureScorer().score(new Map([['u', unitFileText(toDbusProperties({...base, user}))]]))).get('u')!.score))
    assert.ok(root! > someone! && nobody! > someone!, JSON.stringify({root, nobody, someone}))
  })

  it('analyzes one unit for many that share a key', async () => {
    // A systemd-analyze that records its arguments before running the real one.
    const dir = mkdtempSync(join('/var/tmp', 'launcho-exposure-count-'))
    try {
      const log = join(dir, 'calls')
      const wrapper = join(dir, 'systemd-analyze')
      writeFileSync(wrapper, `#!/bin/sh\necho "$#" >> ${log}\nexec systemd-analyze "$@"\n`, {mode: 0o755})
      const scorer = new ExposureScorer(wrapper)
      const units = new Map(Array.from({length: 100}, (_, i) => [`p${i}`, unitFileText(toDbusProperties({...base, name: `launcho-p${i}-0000000${i % 10}.service`, command: ['/bin/echo', String(i)], sandbox: sandbox('basic')}))]))
      const scored = await scorer.score(units)
      assert.equal(scored.size, 100)
      assert.equal(new Set([...scored.values()].map((e) => e.score)).size, 1)
      // security --offline=yes --no-pager FILE: four arguments, one run.
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['4'])
      await scorer.score(units)
      assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 1, 'scored again from the cache')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('says when systemd-analyze cannot score, instead of guessing a score', async () => {
    const scorer = new ExposureScorer('/nonexistent/systemd-analyze')
    await assert.rejects(scorer.score(new Map([['x', unitFileText(toDbusProperties(base))]])), (error: Error) => error instanceof ExposureError && /systemd-analyze is not installed/.test(error.message))
  })

  it('reads each unit\'s table and overall line from the text output', () => {
    const out = [
      '  NAME                 DESCRIPTION                             EXPOSURE',
      '✗ PrivateNetwork=      Service has access to the host\'s network      0.5',
      '✓ NoNewPrivileges=     Service processes cannot acquire new privileges',
      '✗ User=/DynamicUser=   Service runs as root user                      0.4',
      '',
      '→ Overall exposure level for a.service: 1.9 OK 🙂',
      '✗ PrivateTmp=          Service has access to other software\'s temporary files 0.2',
      '→ Overall exposure level for b.service: 9.6 UNSAFE 😨',
    ].join('\n')
    const parsed = parseSecurityOutput(out)
    assert.deepEqual(parsed.get('a.service'), {
      score: 1.9,
      rating: 'OK',
      costs: [
        {setting: 'PrivateNetwork=', description: "Service has access to the host's network", exposure: 0.5},
        {setting: 'User=/DynamicUser=', description: 'Service runs as root user', exposure: 0.4},
      ],
    })
    assert.deepEqual(parsed.get('b.service')?.costs.map((c) => c.setting), ['PrivateTmp='])
  })

  it('keeps nothing of the output it read: scores of 2000 units do not hold their 40 MB of text', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const filler = Array.from({length: 100}, (_, i) => `✓ Setting${i}=   Service does the right thing number ${i}`).join('\n')
    const block = (n: number) => `${filler}\n✗ PrivateNetwork=   Service has access to the host's network   0.5\n→ Overall exposure level for u${n}.service: 1.9 OK 🙂`
    let out: string | undefined = Array.from({length: 2000}, (_, n) => block(n)).join('\n')
    gc()
    const before = process.memoryUsage().heapUsed
    const parsed = parseSecurityOutput(out)
    out = undefined
    ;/x/.exec('x') // V8 keeps the last regexp subject (RegExp.input) alive until the next match
    gc()
    const kept = process.memoryUsage().heapUsed - before
    assert.equal(parsed.size, 2000)
    // The text was counted in `before`; what is left of it now must be far less than its size.
    assert.ok(kept < -20 * 1024 * 1024, `heap changed by ${Math.round(kept / 1024 / 1024)} MB`)
  })
})
