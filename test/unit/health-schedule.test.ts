import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {nextCheckInMs} from '../../src/health/schedule.js'

describe('check schedule', () => {
  it('until a check first passes, retries back off from 50 ms, doubling, up to the interval', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((failures) => nextCheckInMs(1000, {consecutiveFailures: failures}))
    assert.deepEqual(delays, [50, 100, 200, 400, 800, 1000, 1000, 1000])
    assert.equal(nextCheckInMs(10_000, {consecutiveFailures: 10_000}), 10_000)
    assert.equal(nextCheckInMs(30, {consecutiveFailures: 1}), 30, 'never more than the interval')
  })

  it('once a check has passed, the interval, whatever failed since', () => {
    assert.equal(nextCheckInMs(10_000, {lastOkAt: 1, consecutiveFailures: 0}), 10_000)
    assert.equal(nextCheckInMs(10_000, {lastOkAt: 1, consecutiveFailures: 1}), 10_000)
  })
})
