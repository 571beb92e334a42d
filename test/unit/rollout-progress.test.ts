/**
 * How a followed deploy judges each changed process from status: serving only when the new
 * version takes the traffic and no old one does, failed with the server's reason, and not failed
 * by an old version's crash loop.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {ProcessChange} from '../../src/protocol/changes.js'
import type {InstanceStatus, ProcessStatus} from '../../src/protocol/status.js'
import {progressOf} from '../../src/cli/rollout-progress.js'

const OLD = '1a2b3c4d'
const NEW = '5e6f7a8b'
const replace: ProcessChange = {process: 'web', change: 'replace', from: OLD, to: NEW, reasons: ['command']}

const instance = (version: string, over: Partial<InstanceStatus> = {}): InstanceStatus => ({
  unit: `launcho-web-${version}.service`,
  version,
  current: version === NEW,
  activeState: 'active',
  subState: 'running',
  pid: 42,
  restarts: 0,
  health: 'healthy',
  traffic: 'in',
  ports: {web: 20000},
  ...over,
})

const web = (instances: InstanceStatus[], over: Partial<ProcessStatus> = {}): ProcessStatus => ({name: 'web', version: NEW, state: 'rolling-out', instances, ...over})

describe('rollout progress', () => {
  it('is serving once the new version takes the traffic and the old one only drains', () => {
    const starting = progressOf(replace, web([instance(NEW, {activeState: 'activating', subState: 'start', health: 'starting', traffic: 'out'}), instance(OLD)]))
    assert.equal(starting.outcome, undefined)
    assert.equal(starting.phase, 'starting')
    const checking = progressOf(replace, web([instance(NEW, {health: 'starting', traffic: 'out', lastCheck: {ok: false, detail: 'HTTP 500', at: ''}}), instance(OLD)]))
    assert.deepEqual([checking.phase, checking.detail], ['checking', `new: checking (HTTP 500) · old ${OLD}: running`])
    const both = progressOf(replace, web([instance(NEW), instance(OLD)]))
    assert.equal(both.outcome, undefined, 'the old one still takes new connections')
    const done = progressOf(replace, web([instance(NEW), instance(OLD, {traffic: 'draining'})]))
    assert.deepEqual([done.outcome, done.detail], ['serving', `new: serving · old ${OLD}: draining`])
  })

  it("fails with the server's reason when the rollout failed", () => {
    const failed = progressOf(replace, web([instance(OLD)], {state: 'rollout-failed', rolloutFailure: {at: '', version: NEW, reason: 'not healthy within its start-up deadline: HTTP 500'}}))
    assert.deepEqual([failed.outcome, failed.reason], ['failed', 'rollout-failed: not healthy within its start-up deadline: HTTP 500'])
  })

  it("fails when the new version crash-loops, but not because of the old version's loop", () => {
    const oldLoop = {state: 'crash-looping' as const, lastFailure: {at: '', unit: `launcho-web-${OLD}.service`, reason: 'exited with status 1'}}
    assert.equal(progressOf(replace, web([instance(NEW, {activeState: 'activating', health: 'starting', traffic: 'out'})], oldLoop)).outcome, undefined)
    const newLoop = {state: 'crash-looping' as const, lastFailure: {at: '', unit: `launcho-web-${NEW}.service`, reason: 'exited with status 3'}}
    assert.equal(progressOf(replace, web([], newLoop)).reason, 'crash-looping: exited with status 3')
  })

  it('is superseded when a newer change wants another version', () => {
    assert.match(progressOf(replace, web([instance(OLD)], {version: 'ffffffff'})).reason ?? '', /^superseded/)
  })

  it('is stopped when a removed process has no instance left', () => {
    const stop: ProcessChange = {process: 'web', change: 'stop', from: OLD}
    assert.equal(progressOf(stop, {name: 'web', state: 'stopping', instances: [instance(OLD, {current: false, traffic: 'out', activeState: 'deactivating'})]}).phase, 'stopping')
    assert.equal(progressOf(stop, undefined).outcome, 'stopped')
  })

  it('waits for every replica: a scale is done when the desired number serve and the ones scaled away are gone', () => {
    const scale: ProcessChange = {process: 'web', change: 'scale', from: NEW, to: NEW, reasons: ['replicas 1 -> 3']}
    const replica = (i: number, over: Partial<InstanceStatus> = {}) => instance(NEW, {unit: `launcho-web-${NEW}-${i}.service`, replica: i, ...over})
    assert.equal(progressOf(scale, web([instance(NEW)], {replicas: 3})).outcome, undefined, 'one of three')
    assert.equal(progressOf(scale, web([instance(NEW), replica(1), replica(2, {traffic: 'out', health: 'starting'})], {replicas: 3})).outcome, undefined)
    assert.equal(progressOf(scale, web([instance(NEW), replica(1), replica(2)], {replicas: 3})).outcome, 'serving')
    const down: ProcessChange = {...scale, reasons: ['replicas 3 -> 2']}
    assert.equal(progressOf(down, web([instance(NEW), replica(1), replica(2, {traffic: 'draining'})], {replicas: 2})).outcome, undefined)
    assert.equal(progressOf(down, web([instance(NEW), replica(1)], {replicas: 2})).outcome, 'serving')
  })
})
