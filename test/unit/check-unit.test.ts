import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CHECK_UNIT_PATTERN, checkUnitNameOf, toCheckProperties} from '../../src/systemd/check-unit.js'
import {parseUnitName, unitNameOf, UNIT_PATTERN, UNIT_PREFIX} from '../../src/systemd/unit-name.js'
import {toDbusProperties} from '../../src/systemd/unit-spec.js'

/** systemd's glob match for the simple patterns used here (`*` only). */
const glob = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`).test(name)

describe('check unit names', () => {
  it('never look like an instance, whatever the process is called', () => {
    for (const process of ['check', 'launcho', 'web', 'check-web', 'a-0123abcd', 'x'.repeat(63)]) {
      const instance = unitNameOf({process, version: '3f9a1c2e'})
      const name = checkUnitNameOf(instance)
      assert.equal(parseUnitName(name), undefined, name)
      assert.ok(!name.startsWith(UNIT_PREFIX), `${name} would reach the reconciler as an instance change`)
      assert.ok(!glob(UNIT_PATTERN, name), `${name} is listed with the instances`)
      assert.ok(glob(CHECK_UNIT_PATTERN, name))
      assert.ok(name.length <= 255)
    }
  })

  it('are fresh for every run', () => {
    const instance = unitNameOf({process: 'web', version: '3f9a1c2e'})
    assert.notEqual(checkUnitNameOf(instance), checkUnitNameOf(instance))
    assert.match(checkUnitNameOf(instance), /^launcho\.check-web-3f9a1c2e-[0-9a-f]{8}\.service$/)
  })
})

describe('commands systemd receives', () => {
  const argvOf = (properties: ReturnType<typeof toDbusProperties>, key: string) =>
    (properties.find(([name]) => name === key)?.[1].value as Array<[string, string[], string[]]> | undefined)?.[0]

  it('go with no-env-expand, for the instance, its before script and a check', () => {
    const instance = toDbusProperties({
      name: 'launcho-web-3f9a1c2e.service',
      description: 'd',
      command: ['/bin/echo', 'a$$b', '$V'],
      before: 'echo "${V}"',
      env: {},
      workingDirectory: '/',
      syslogIdentifier: 'web',
      journalFields: {},
      restartDelayMs: 100,
      stopTimeoutMs: 1000,
      startTimeoutMs: 1000,
    })
    assert.deepEqual(argvOf(instance, 'ExecStartEx'), ['/bin/echo', ['/bin/echo', 'a$$b', '$V'], ['no-env-expand']])
    assert.deepEqual(argvOf(instance, 'ExecStartPreEx'), ['/bin/sh', ['/bin/sh', '-ec', 'echo "${V}"'], ['no-env-expand']])
    assert.ok(!instance.some(([name]) => name === 'ExecStart' || name === 'ExecStartPre'))
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
    assert.deepEqual(argvOf(check, 'ExecStartEx'), ['/bin/test', ['/bin/test', '-e', '$READY'], ['no-env-expand']])
  })
})
