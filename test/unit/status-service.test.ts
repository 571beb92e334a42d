/**
 * `status` never shows an instance serving before its balancer change and its "serving" event:
 * a deploy judges by status and prints the events up to it, so a serve that began while status
 * read systemd showed as serving with its event not yet told (seen in CI). The real StatusService
 * over fakes of what it reads.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {StatusService} from '../../src/daemon/status-service.js'
import type {TargetService} from '../../src/daemon/target-service.js'
import {EventLog} from '../../src/events.js'
import {CrashTracker} from '../../src/reconcile/crash-policy.js'
import type {Reconciler} from '../../src/reconcile/reconciler.js'
import type {SystemdConnection} from '../../src/systemd/connection.js'
import {observedUnit} from '../helpers/observed-unit.js'

const unit = observedUnit('bbbbbbbb', {mainPid: 42})

describe('StatusService', () => {
  it('a serve that begins while status reads systemd shows once its balancer change is applied, with its event', async () => {
    const events = new EventLog()
    let membership: 'out' | 'in' = 'out'
    let chain: Promise<void> = Promise.resolve()
    const reconciler = {
      getDesired: () => new Map(),
      tracker: () => new CrashTracker(),
      registry: {facts: () => ({health: 'healthy', membership}), get: () => undefined},
      monitor: {snapshot: () => undefined},
      failedRollouts: new Map(),
      problemOf: () => undefined,
      // As the reconciler's: resolves once the balancer changes queued so far are applied.
      balancerApplied: () => chain.then(() => {}),
    } as unknown as Reconciler
    const manager = {
      address: 'unix:path=/x',
      // The serve action runs meanwhile: into the balancer, the change under way, the event once it is applied.
      list: async () => {
        membership = 'in'
        let applied!: () => void
        chain = new Promise((resolve) => (applied = resolve))
        void chain.then(() => events.add('serving', `${unit.name} is healthy and serving`, 'web'))
        setTimeout(applied, 20)
        return {units: [unit], unknown: []}
      },
      usage: async () => new Map(),
    }
    const targets = {stoppedProcesses: () => [], releases: {latest: () => undefined}, problem: () => undefined} as unknown as TargetService
    const service = new StatusService('test', {current: manager} as unknown as SystemdConnection, reconciler, targets, events)
    const report = await service.status(20)
    assert.equal(report.processes[0]!.instances[0]!.traffic, 'in')
    const serving = report.events.find((event) => event.kind === 'serving')
    assert.ok(serving && serving.seq <= report.server.eventSeq!, `serving shown without its event: ${JSON.stringify(report.events)}, eventSeq ${report.server.eventSeq}`)
  })
})
