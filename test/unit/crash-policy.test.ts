import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CrashTracker} from '../../src/reconcile/crash-policy.js'

const unit = 'launcho-web-0123abcd.service'

describe('crash policy', () => {
  it('counts nothing on the first sight of a unit (e.g. after a server restart)', () => {
    const tracker = new CrashTracker()
    assert.equal(tracker.observe(unit, 7, undefined, 1_000), 0)
    assert.equal(tracker.shouldHold(1_000), false)
  })

  it('tolerates a one-off crash but holds back three within the window', () => {
    const tracker = new CrashTracker()
    tracker.observe(unit, 0, undefined, 0)
    assert.equal(tracker.observe(unit, 1, undefined, 100), 1)
    assert.equal(tracker.shouldHold(100), false)
    tracker.observe(unit, 3, undefined, 400)
    assert.equal(tracker.shouldHold(400), true)
  })

  it('forgets crashes older than the window', () => {
    const tracker = new CrashTracker()
    tracker.observe(unit, 0, undefined, 0)
    tracker.observe(unit, 2, undefined, 0)
    tracker.observe(unit, 3, undefined, 11_000)
    assert.equal(tracker.shouldHold(11_000), false)
  })

  it('doubles the delay on each hold up to the cap, and resets after a long healthy run', () => {
    const tracker = new CrashTracker({threshold: 1, windowMs: 10_000, baseDelayMs: 1_000, maxDelayMs: 5_000, resetAfterMs: 30_000})
    const delays = [0, 1, 2, 3, 4].map(() => {
      const now = 100_000
      return tracker.hold(now) - now
    })
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 5_000, 5_000])
    assert.equal(tracker.canStart(100_500), false)
    assert.equal(tracker.view(100_500).looping, true)
    // Up for 30 s: the loop is over and the next hold starts small again.
    tracker.observe(unit, 0, 200_000, 230_000)
    assert.equal(tracker.view(230_000).looping, false)
    assert.equal(tracker.hold(230_000) - 230_000, 1_000)
  })

  it('holds a failed start back at once, doubling up to the cap, until a start succeeds', () => {
    const tracker = new CrashTracker({threshold: 3, windowMs: 10_000, baseDelayMs: 1_000, maxDelayMs: 5_000, resetAfterMs: 30_000})
    const failure = (at: number) => ({at, unit, reason: 'could not place resource'})
    const delays = [0, 1, 2, 3, 4].map(() => tracker.startFailed(100_000, failure(100_000)) - 100_000)
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 5_000, 5_000])
    assert.equal(tracker.canStart(104_000), false)
    assert.deepEqual(
      {failing: tracker.view(104_000).failingToStart, looping: tracker.view(104_000).looping, retryAt: tracker.view(104_000).retryAt, reason: tracker.view(104_000).lastFailure?.reason},
      {failing: true, looping: false, retryAt: 105_000, reason: 'could not place resource'},
    )
    tracker.startSucceeded()
    assert.equal(tracker.view(106_000).failingToStart, false)
    assert.equal(tracker.startFailed(200_000, failure(200_000)) - 200_000, 1_000, 'a success started the delay over')
  })

  it('lets a new version start at once, whatever the old one\'s delay', () => {
    const tracker = new CrashTracker()
    const retryAt = tracker.startFailed(0, {at: 0, unit, reason: 'x'})
    assert.equal(tracker.canStart(retryAt - 1), false)
    tracker.versionChanged()
    assert.equal(tracker.canStart(1), true)
  })
})
