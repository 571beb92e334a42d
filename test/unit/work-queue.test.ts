import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {after, done, terminal, WorkQueue, type Outcome} from '../../src/reconcile/work-queue.js'

const tick = () => new Promise((resolve) => setImmediate(resolve))
async function until(what: string, condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

function recorder(outcome: (key: string, run: number) => Outcome | Promise<Outcome>, concurrency = 4) {
  const runs: string[] = []
  let running = 0
  let maxRunning = 0
  const errors: {key: string; retryInMs: number}[] = []
  const terminals: string[] = []
  const queue = new WorkQueue<string>({
    concurrency,
    baseDelayMs: 20,
    maxDelayMs: 160,
    reconcile: async (key) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      runs.push(key)
      try {
        return await outcome(key, runs.filter((k) => k === key).length)
      } finally {
        running--
      }
    },
    onError: (key, _error, retryInMs) => errors.push({key, retryInMs}),
    onTerminal: (key, reason) => terminals.push(`${key}: ${reason}`),
  })
  return {queue, runs, errors, terminals, maxRunning: () => maxRunning}
}

describe('work queue', () => {
  it('runs a key kicked many times once', async () => {
    const r = recorder(() => done)
    for (let i = 0; i < 100; i++) r.queue.add('web')
    await r.queue.idle()
    assert.deepEqual(r.runs, ['web'])
  })

  it('never runs one key twice at once; a kick during its run runs it once more after', async () => {
    let release!: () => void
    const r = recorder((_key, run) => (run === 1 ? new Promise<Outcome>((resolve) => (release = () => resolve(done))) : done))
    r.queue.add('web')
    await until('first run', () => r.runs.length === 1)
    for (let i = 0; i < 10; i++) r.queue.add('web')
    await tick()
    assert.equal(r.runs.length, 1, 'not started again while running')
    release()
    await until('second run', () => r.runs.length === 2)
    await r.queue.idle()
    assert.equal(r.maxRunning(), 1)
    assert.deepEqual(r.runs, ['web', 'web'])
  })

  it('runs distinct keys concurrently, up to the limit', async () => {
    const gates: (() => void)[] = []
    const r = recorder(() => new Promise<Outcome>((resolve) => gates.push(() => resolve(done))), 3)
    for (const key of ['a', 'b', 'c', 'd', 'e']) r.queue.add(key)
    await until('three running', () => gates.length === 3)
    await tick()
    assert.equal(gates.length, 3, 'at most three at once')
    while (r.runs.length < 5 || gates.length > 0) {
      gates.shift()?.()
      await tick()
    }
    await r.queue.idle()
    assert.deepEqual([...r.runs].sort(), ['a', 'b', 'c', 'd', 'e'])
  })

  it('retries a throwing key with a doubling delay up to the maximum, and kicks do not undo the back-off', async () => {
    const r = recorder(() => {
      throw new Error('boom')
    })
    r.queue.add('web')
    const started = Date.now()
    // Flood it with kicks: they must not make it run more often than its back-off allows.
    const flood = setInterval(() => r.queue.add('web'), 1)
    try {
      await until('six tries', () => r.runs.length >= 6, 3_000)
    } finally {
      clearInterval(flood)
      r.queue.stop()
    }
    const elapsed = Date.now() - started
    assert.deepEqual(
      r.errors.slice(0, 5).map((e) => e.retryInMs),
      [20, 40, 80, 160, 160],
    )
    assert.ok(elapsed >= 20 + 40 + 80 + 160 + 160 - 10, `six tries took ${elapsed} ms`)
    r.queue.stop()
  })

  it('resets the back-off after a success', async () => {
    const r = recorder((_key, run) => {
      if (run === 1 || run === 2 || run === 4) throw new Error('boom')
      return done
    })
    r.queue.add('web')
    await until('three runs', () => r.runs.length === 3)
    r.queue.add('web')
    await until('fourth run', () => r.runs.length === 4)
    await until('error told', () => r.errors.length === 3)
    assert.deepEqual(
      r.errors.map((e) => e.retryInMs),
      [20, 40, 20],
    )
    r.queue.stop()
  })

  it('requeues after the time a reconcile asks for, or sooner when kicked', async () => {
    const r = recorder((_key, run) => (run === 1 ? after(150) : done))
    r.queue.add('web')
    const started = Date.now()
    await until('second run', () => r.runs.length === 2, 1_000)
    assert.ok(Date.now() - started >= 140, 'ran again after the requested time')

    const s = recorder((_key, run) => (run === 1 ? after(10_000) : done))
    s.queue.add('web')
    await until('first run', () => s.runs.length === 1)
    await s.queue.idle()
    s.queue.add('web')
    await until('kicked run', () => s.runs.length === 2, 500)
    s.queue.stop()
  })

  it('reports a terminal outcome once and ignores kicks until the key is reset', async () => {
    let broken = true
    const r = recorder(() => (broken ? terminal('resource 3f9a is not stored') : done))
    r.queue.add('web')
    await r.queue.idle()
    for (let i = 0; i < 20; i++) r.queue.add('web')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(r.runs, ['web'])
    assert.deepEqual(r.terminals, ['web: resource 3f9a is not stored'])
    assert.equal(r.queue.terminalReason('web'), 'resource 3f9a is not stored')
    broken = false
    r.queue.reset('web')
    await r.queue.idle()
    assert.deepEqual(r.runs, ['web', 'web'])
    assert.equal(r.queue.terminalReason('web'), undefined)
  })
})
