import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LaunchoError, type Problem} from '../../src/errors.js'
import {HEALTH_DEFAULTS, healthCheckFor, parseDuration, resolvePolicy} from '../../src/health/policy.js'
import {loadTarget, validateTarget} from '../../src/target/load.js'
import {versionOf} from '../../src/target/version.js'

/** Any fixed key: versions are keyed per server (store/version-key.ts). */
const key = Buffer.alloc(32, 7)

/** A one-process target receiving `web`, with `health` written as the given YAML flow map. */
const target = (health: string) => `processes:
  - name: web
    command: ["node", "server.js"]
    receives: [web]
    health: ${health}
services:
  - name: web
    on: "127.0.0.1:5000"
`
const healthOf = (health: string) => validateTarget(target(health)).processes[0].health

function problemsOf(health: string): Problem[] {
  try {
    validateTarget(target(health))
  } catch (error) {
    assert.ok(error instanceof LaunchoError)
    return error.problems
  }
  assert.fail('expected the target to be rejected')
}

describe('health options', () => {
  it('reads durations as "500ms", "2s", "1m", "1h" or a number of seconds', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('2s'), 2000)
    assert.equal(parseDuration('1.5m'), 90_000)
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.equal(parseDuration(2), 2000)
    assert.equal(parseDuration(0.25), 250)
    assert.equal(parseDuration('3'), 3000)
    for (const bad of ['', 's', '1d', '-1s', 'fast', '1 s 2']) assert.equal(parseDuration(bad), undefined, bad)
  })

  it('keeps the original {service, path} form as it was', () => {
    assert.deepEqual(healthOf('{service: web, path: /health}'), {service: 'web', path: '/health'})
  })

  it('takes every option, durations in milliseconds', () => {
    const written =
      '{service: web, path: /ready, kind: http, interval: 500ms, timeout: 0.25, failureThreshold: 5, successThreshold: 2, startupDeadline: 2m}'
    assert.deepEqual(healthOf(written), {
      kind: 'http',
      service: 'web',
      path: '/ready',
      interval: '500ms',
      timeout: '250ms',
      failureThreshold: 5,
      successThreshold: 2,
      startupDeadline: '2m',
    })
    assert.deepEqual(healthOf('{command: ["/usr/local/bin/check", "--quick"]}'), {command: ['/usr/local/bin/check', '--quick']})
  })

  it('rejects unknown keys, suggesting the right one', () => {
    const [problem] = problemsOf('{service: web, path: /health, intervall: 1s}')
    assert.equal(problem.field, 'processes[0].health.intervall')
    assert.match(problem.message, /unknown key "intervall" \(did you mean "interval"\?\)/)
  })

  it('explains bad values and combinations, at their line', () => {
    const messages = (health: string) => problemsOf(health).map((p) => `${p.line}:${p.field}: ${p.message}`)
    assert.deepEqual(messages('{service: web, path: /health, interval: soon}'), [
      '5:processes[0].health.interval: health.interval must be a duration like "500ms", "2s" or "1m", or a number of seconds (got "soon")',
    ])
    assert.deepEqual(messages('{service: web, timeout: 10m, failureThreshold: 0}'), [
      '5:processes[0].health.timeout: health.timeout must be between 10ms and 5m',
      '5:processes[0].health.failureThreshold: health.failureThreshold must be a whole number from 1 to 100',
    ])
    assert.deepEqual(messages('{kind: tcp, service: web, path: /health}'), [
      '5:processes[0].health.path: health.path is only for http checks (this check is tcp)',
    ])
    assert.deepEqual(messages('{kind: exec, service: web}'), [
      '5:processes[0].health: health.command is required for exec checks, e.g. ["/usr/local/bin/check"]',
      '5:processes[0].health.service: health.service is only for http and tcp checks; exec checks get SERVICE_PORT_* variables (this check is exec)',
    ])
    assert.deepEqual(messages('{interval: 1s}'), [
      '5:processes[0].health: health needs service and path (an http check), service alone (tcp) or command (exec)',
    ])
  })

  it('substitutes secrets in the exec command, like in the process command, and keeps the tuning', () => {
    const text = target('{command: ["/usr/local/bin/check", "--token=${CHECK_TOKEN}"], interval: 1000ms, timeout: 3}')
    const loaded = loadTarget(text, new Map([['CHECK_TOKEN', 's3cret']]))
    assert.deepEqual(loaded.processes[0].health, {command: ['/usr/local/bin/check', '--token=s3cret'], interval: '1s', timeout: '3s'})
  })

  it('a new check or new tuning is a new version; the original form keeps its version', () => {
    const base = validateTarget(target('{service: web, path: /health}')).processes[0]
    const tuned = validateTarget(target('{service: web, path: /health, interval: 5s}')).processes[0]
    const respelled = validateTarget(target('{service: web, path: /health, interval: 5000ms}')).processes[0]
    assert.notEqual(versionOf(tuned, key), versionOf(base, key))
    assert.equal(versionOf(respelled, key), versionOf(tuned, key), 'the same duration spelled differently is no change')
    // What versionOf gave this process (with this key) before memoryMax existed: keys a target
    // does not use leave its versions alone, so adding one to launcho replaces nothing.
    assert.equal(versionOf(base, key), 'f01ed4d6')
  })
})

describe('healthCheckFor', () => {
  const ports = {web: 20001, admin: 20002}

  it('turns the health block and the instance ports into a check, with the default timeout', () => {
    assert.deepEqual(healthCheckFor({service: 'admin', path: '/health'}, ports), {
      kind: 'http',
      port: 20002,
      path: '/health',
      timeoutMs: HEALTH_DEFAULTS.timeoutMs,
    })
    assert.deepEqual(healthCheckFor({service: 'web', timeout: '300ms'}, ports), {kind: 'tcp', port: 20001, timeoutMs: 300})
    assert.equal(healthCheckFor(undefined, ports), undefined)
  })

  it('runs exec checks as the process, with its env and the service ports', () => {
    const check = healthCheckFor({command: ['/bin/check']}, {'web-api': 20003}, {uid: 'www-data', gid: 'web', cwd: '/srv', env: {A: '1'}})
    assert.deepEqual(check, {
      kind: 'exec',
      command: ['/bin/check'],
      timeoutMs: HEALTH_DEFAULTS.timeoutMs,
      env: {A: '1', SERVICE_PORT_WEB_API: '20003'},
      cwd: '/srv',
      user: 'www-data',
      group: 'web',
    })
  })

  it("gives an exec check the instance's ports in its argv and names the instance it runs beside", () => {
    const check = healthCheckFor({command: ['/bin/check', '$SERVICE_PORT_WEB_API', '--x=${SERVICE_PORT_WEB_API}', '$HOME']}, {'web-api': 20003}, {
      unit: 'launcho-web-3f9a1c2e.service',
      environmentFile: '/state/environments/launcho-web-3f9a1c2e.env',
      memoryMax: '64M',
    })
    assert.deepEqual(check?.kind === 'exec' && [check.command, check.instance], [
      ['/bin/check', '20003', '--x=20003', '$HOME'],
      {
        unit: 'launcho-web-3f9a1c2e.service',
        environmentFile: '/state/environments/launcho-web-3f9a1c2e.env',
        portEnv: {SERVICE_PORT_WEB_API: '20003'},
        memoryMax: '64M',
      },
    ])
  })

  it('fills unset thresholds and intervals with the defaults', () => {
    assert.deepEqual(resolvePolicy({service: 'web', failureThreshold: 5}), {
      intervalMs: HEALTH_DEFAULTS.intervalMs,
      failureThreshold: 5,
      successThreshold: HEALTH_DEFAULTS.successThreshold,
      startupDeadlineMs: HEALTH_DEFAULTS.startupDeadlineMs,
    })
  })
})
