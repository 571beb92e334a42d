/**
 * `launcho status` as a terminal shows it: within the terminal's width (long failure reasons and
 * health details cut first, unit names last), one vocabulary of states for old and new instances,
 * and colour only when asked for.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import stringWidth from 'string-width'
import {renderStatus} from '../../src/cli/status-view.js'
import type {StatusReport} from '../../src/protocol/status.js'
import type {InstanceStatus} from '../../src/protocol/status.js'

const instance = (over: Partial<InstanceStatus>): InstanceStatus => ({
  unit: 'launcho-payments-gateway-worker-3f9a1c2e.service',
  version: '3f9a1c2e',
  current: true,
  activeState: 'active',
  subState: 'running',
  pid: 4242,
  restarts: 0,
  uptimeSeconds: 3720,
  health: 'healthy',
  traffic: 'in',
  ports: {web: 20000},
  ...over,
})

const report: StatusReport = {
  server: {version: '0.3.0', bus: 'unix:path=/run/dbus/system_bus_socket', lb: 'nftables'},
  processes: [
    {
      name: 'payments-gateway-worker',
      version: '3f9a1c2e',
      state: 'rolling-out',
      instances: [
        instance({}),
        instance({unit: 'launcho-payments-gateway-worker-0badc0de.service', version: '0badc0de', current: false, traffic: 'draining'}),
        instance({unit: 'launcho-payments-gateway-worker-11111111.service', version: '11111111', current: false, activeState: 'deactivating', subState: 'stop-sigterm', traffic: 'out'}),
      ],
      lastFailure: {at: '2026-12-01T10:00:00.000Z', unit: 'launcho-payments-gateway-worker-3f9a1c2e.service', reason: 'exited with status 203/EXEC: Failed at step EXEC spawning /srv/payments/bin/gateway-worker: No such file or directory'},
    },
  ],
  events: [],
}

describe('status table', () => {
  it('fits in 80 columns, cutting the failure before the unit name', () => {
    const text = renderStatus(report, {width: 80})
    const lines = text.split('\n')
    for (const line of lines) assert.ok(stringWidth(line) <= 80, `${stringWidth(line)} columns: ${line}`)
    assert.match(text, /…/)
    // The unit column keeps enough to be told apart.
    assert.match(text, /launcho-/)
  })

  it('is as wide as it needs to be when the width is unknown (a pipe, a file)', () => {
    const text = renderStatus(report)
    assert.match(text, /launcho-payments-gateway-worker-3f9a1c2e\.service/)
    assert.match(text, /No such file or directory/)
  })

  it('uses the same words for old instances as for current ones', () => {
    const text = renderStatus(report)
    assert.match(text, /0badc0de \(old\)\s+\S+\s+draining/)
    assert.match(text, /11111111 \(old\)\s+\S+\s+stopping/)
    assert.doesNotMatch(text, /active\/running|deactivating\/stop-sigterm/)
  })

  it('colours states only when asked, and never inside the layout', () => {
    assert.doesNotMatch(renderStatus(report, {width: 80}), /\u001b\[/)
    const coloured = renderStatus(report, {width: 80, colour: true})
    assert.match(coloured, /\u001b\[33mrolling/)
    assert.match(coloured, /\u001b\[32mhealthy/)
    const plain = coloured.replace(/\u001b\[\d+m/g, '')
    assert.equal(plain, renderStatus(report, {width: 80}))
  })

  it('names the latest release and, when it is another, the one serving; a stopped process reads stopped', () => {
    const failed = {state: 'failed' as const, reason: 'web: rollout-failed: not healthy within its start-up deadline'}
    const lines = renderStatus({
      ...report,
      processes: [{name: 'web', state: 'stopped', instances: []}],
      release: {current: {number: 12, kind: 'target-set', outcome: failed}, serving: 11},
      events: [],
    }).split('\n')
    assert.equal(lines[1], 'Release 12 failed: web: rollout-failed: not healthy within its start-up deadline; serving release 11')
    assert.match(lines.find((line) => line.startsWith('web'))!, /^web\s+-\s+-\s+stopped\s/)
    const serving = renderStatus({...report, release: {current: {number: 13, kind: 'rollback', outcome: {state: 'serving'}}, serving: 13}})
    assert.equal(serving.split('\n')[1], 'Release 13 serving')
    const rolling = renderStatus({...report, release: {current: {number: 14, kind: 'secret', outcome: {state: 'rolling-out'}}, serving: 13}})
    assert.equal(rolling.split('\n')[1], 'Release 14 rolling out; serving release 13')
  })

  it('shows memory, CPU time and tasks when the terminal is wide enough, and drops them first', () => {
    const used: StatusReport = {
      ...report,
      processes: [{...report.processes[0]!, instances: [instance({memoryBytes: 12_900_000, cpuSeconds: 83.4, tasks: 7})]}],
    }
    const wide = renderStatus(used, {width: 250})
    assert.match(wide, /MEM\s+CPU\s+TASKS/)
    assert.match(wide, /12\.3M\s+1m23s\s+7\s/)
    const narrow = renderStatus(used, {width: 80})
    assert.doesNotMatch(narrow, /TASKS|12\.3M/)
    assert.match(narrow, /launcho-/)
  })
})

describe('status of a process that cannot run until the target changes', () => {
  it('warns under the table with the reason', () => {
    const text = renderStatus({...report, processes: [{name: 'web', version: 'abcdef12', state: 'failing-to-start', instances: [], problem: 'beforeRollout hook exited 1'}], events: []}, {width: 120})
    assert.match(text, /^Warning: web cannot run until the target changes: beforeRollout hook exited 1$/m)
  })
})
