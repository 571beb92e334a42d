/** The bounds on D-Bus calls in flight (Limiter) and on systemd jobs queued at once (JobSlots). */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {JobSlots} from '../../src/systemd/job-slots.js'
import {Limiter} from '../../src/systemd/limiter.js'

const tick = () => new Promise((resolve) => setImmediate(resolve))
const timedOut = () => new Error('timed out')

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return {promise, resolve}
}

describe('Limiter', () => {
  it('never has more calls in flight than its bound, and runs every call in order', async () => {
    const limiter = new Limiter(32)
    let inFlight = 0
    let most = 0
    const order: number[] = []
    await Promise.all(
      Array.from({length: 1000}, (_, i) =>
        limiter.run(async () => {
          order.push(i)
          most = Math.max(most, ++inFlight)
          await new Promise((resolve) => setTimeout(resolve, i % 3))
          inFlight--
        }, 10_000, timedOut),
      ),
    )
    assert.equal(most, 32)
    assert.deepEqual(order, Array.from({length: 1000}, (_, i) => i))
    assert.equal(limiter.inFlight, 0)
  })

  it('a call times out from when it is sent; its slot stays taken until its reply comes', async () => {
    const limiter = new Limiter(1)
    const reply = deferred()
    const slow = limiter.run(() => reply.promise, 20, timedOut)
    await assert.rejects(slow, /timed out/)
    assert.equal(limiter.inFlight, 1, 'the bus still counts the unanswered call')
    let ran = false
    const next = limiter.run(async () => (ran = true), 1_000, timedOut)
    await tick()
    assert.equal(ran, false)
    reply.resolve()
    await next
    assert.equal(ran, true)
  })

  it('a queued call waits as long as other calls are answered, and gives up once nothing moves for its timeout', async () => {
    const limiter = new Limiter(1)
    // Busy: 6 calls of 30 ms each keep the one slot moving for ~180 ms, longer than the 100 ms timeout.
    const busy = Array.from({length: 6}, () => limiter.run(() => new Promise((resolve) => setTimeout(resolve, 30)), 100, timedOut))
    const patient = limiter.run(async () => 'sent', 100, timedOut)
    await Promise.all(busy)
    assert.equal(await patient, 'sent', 'not timed out while the queue moved')

    // Stuck: the slot's call never answers; a queued call fails after its timeout and is never sent.
    const stuck = deferred()
    void limiter.run(() => stuck.promise, 10_000, timedOut).catch(() => undefined)
    let sent = false
    await assert.rejects(limiter.run(async () => (sent = true), 50, timedOut), /timed out/)
    assert.equal(limiter.waiting, 0)
    stuck.resolve()
    await tick()
    assert.equal(sent, false, 'a call that gave up while queued is not sent later')
  })
})

describe('JobSlots', () => {
  it('bounds young jobs; a job that runs long gives its slot away but still counts against the total', async () => {
    const slots = new JobSlots({quick: 2, most: 3, youngMs: 30})
    const a = await slots.acquire()
    const b = await slots.acquire()
    let cGot = false
    const c = slots.acquire().then((slot) => ((cGot = true), slot))
    await tick()
    assert.equal(cGot, false, 'two young jobs fill the quick slots')
    const cSlot = await c // a and b grew old after 30 ms
    assert.equal(slots.outstanding, 3)
    let dGot = false
    const d = slots.acquire().then((slot) => ((dGot = true), slot))
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(dGot, false, 'three jobs queued: the total bound holds however old they are')
    a.release()
    const dSlot = await d
    for (const slot of [b, cSlot, dSlot]) slot.release()
    assert.equal(slots.outstanding, 0)
  })

  it('fails its waiters when the bus they would use is gone', async () => {
    const slots = new JobSlots({quick: 1, most: 1, youngMs: 10_000})
    const held = await slots.acquire()
    const waiting = slots.acquire()
    slots.failWaiting(new Error('lost the bus'))
    await assert.rejects(waiting, /lost the bus/)
    held.release()
    held.release()
    assert.equal(slots.outstanding, 0, 'a double release counts once')
  })
})
