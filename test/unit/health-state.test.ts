import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CheckResult} from '../../src/health/check.js'
import {InstanceHealth, type HealthState} from '../../src/health/health-state.js'

const thresholds = {failureThreshold: 3, successThreshold: 2, startupDeadlineMs: 10_000}
const ok = (at: number): CheckResult => ({ok: true, detail: 'HTTP 200 in 1 ms', at, durationMs: 1})
const bad = (at: number): CheckResult => ({ok: false, detail: 'HTTP 500 in 1 ms', at, durationMs: 1})

/** Applies results in order; returns the states reported as changes. */
function feed(health: InstanceHealth, results: CheckResult[]): HealthState[] {
  return results.map((result) => health.apply(result)).flatMap((applied) => (applied.changed ? [applied.state] : []))
}

/** A healthy instance started at 0, made healthy by two successes at 1 and 2 s. */
function healthy(): InstanceHealth {
  const health = new InstanceHealth(thresholds, 0)
  assert.deepEqual(feed(health, [ok(1000), ok(2000)]), ['healthy'])
  return health
}

describe('instance health', () => {
  it('starts as starting and becomes healthy after successThreshold consecutive successes', () => {
    const health = new InstanceHealth(thresholds, 0)
    assert.equal(health.snapshot().state, 'starting')
    assert.deepEqual(feed(health, [bad(100), ok(200), bad(300), ok(400)]), [], 'interrupted successes do not add up')
    const applied = health.apply(ok(500))
    assert.deepEqual(applied, {changed: true, state: 'healthy', lastResult: ok(500)})
    assert.equal(health.snapshot().since, 500)
  })

  it('one failure does not flip a healthy instance; failureThreshold consecutive ones do', () => {
    const health = healthy()
    assert.deepEqual(feed(health, [bad(3000)]), [])
    assert.equal(health.snapshot().state, 'healthy')
    assert.equal(health.snapshot().consecutiveFailures, 1)
    assert.deepEqual(feed(health, [bad(4000), bad(5000)]), ['unhealthy'])
    assert.equal(health.snapshot().lastResult?.at, 5000)
  })

  it('a success between failures resets the count', () => {
    const health = healthy()
    assert.deepEqual(feed(health, [bad(3000), bad(4000), ok(5000), bad(6000), bad(7000)]), [])
    assert.equal(health.snapshot().state, 'healthy')
    assert.deepEqual(feed(health, [bad(8000)]), ['unhealthy'])
  })

  it('an unhealthy instance needs successThreshold consecutive successes to be healthy again', () => {
    const health = healthy()
    feed(health, [bad(3000), bad(4000), bad(5000)])
    assert.deepEqual(feed(health, [ok(6000), bad(7000), ok(8000)]), [])
    assert.deepEqual(feed(health, [ok(9000)]), ['healthy'])
  })

  it('reports each change once: more of the same changes nothing', () => {
    const health = healthy()
    const states = feed(health, [...[3, 4, 5, 6, 7, 8].map((s) => bad(s * 1000)), ...[9, 10, 11].map((s) => ok(s * 1000))])
    assert.deepEqual(states, ['unhealthy', 'healthy'])
    assert.deepEqual(feed(health, [ok(12_000), ok(13_000)]), [])
  })

  it('fails a starting instance when the start-up deadline passes, and only then', () => {
    const health = new InstanceHealth(thresholds, 1000)
    assert.equal(health.deadlineAt, 11_000)
    feed(health, [bad(2000), ok(3000)])
    assert.equal(health.expire(10_999).changed, false)
    const applied = health.expire(11_000)
    assert.deepEqual(applied, {changed: true, state: 'failed', lastResult: ok(3000)})
    assert.equal(health.expire(12_000).changed, false, 'reported once')
  })

  it('a result known only after the deadline is too late, even a good one', () => {
    const health = new InstanceHealth(thresholds, 0)
    assert.deepEqual(feed(health, [ok(9000), ok(10_001)]), ['failed'])
  })

  it('failed is final', () => {
    const health = new InstanceHealth(thresholds, 0)
    health.expire(10_000)
    assert.deepEqual(feed(health, [ok(10_100), ok(10_200), ok(10_300)]), [])
    assert.equal(health.snapshot().state, 'failed')
  })

  it('the deadline no longer matters once healthy', () => {
    const health = healthy()
    assert.equal(health.expire(60_000).changed, false)
    assert.equal(health.snapshot().state, 'healthy')
    assert.deepEqual(feed(health, [ok(60_000)]), [])
  })
})
