import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import {MemoryReducer} from '../../src/daemon/memory-reducer.js'

const MiB = 1024 * 1024

function reducer(sizes: number[]) {
  let rss = sizes[0]! * MiB
  const runs: number[] = []
  const r = new MemoryReducer({
    logger: pino({enabled: false}),
    rss: () => rss,
    gc: () => {
      runs.push(rss / MiB)
      rss = sizes[0]! * MiB + 10 * MiB
    },
  })
  return {r, runs, set: (mb: number) => (rss = mb * MiB)}
}

describe('memory reducer', () => {
  it('gives memory back once a burst is over, not while it still grows', () => {
    const {r, runs, set} = reducer([120])
    let now = 100_000
    for (const mb of [150, 200, 260]) {
      set(mb)
      assert.equal(r.check((now += 5_000)), false, `still growing at ${mb} MB`)
    }
    set(262)
    assert.equal(r.check((now += 5_000)), true)
    assert.deepEqual(runs, [262])
  })

  it('does nothing for small growth, and at most once per interval however memory moves', () => {
    const {r, runs, set} = reducer([120])
    let now = 100_000
    set(132)
    r.check((now += 5_000))
    assert.equal(r.check((now += 5_000)), false, '12 MB is not worth a full GC')
    set(300)
    r.check((now += 5_000))
    assert.equal(r.check((now += 5_000)), true)
    set(300)
    r.check((now += 5_000))
    assert.equal(r.check((now += 5_000)), false, 'within 30 s of the last one')
    assert.equal(r.check((now += 30_000)), true)
    assert.equal(runs.length, 2)
  })

  it('gives memory back after a burst that a reduction interrupted, where RSS sank only part of the way', () => {
    const {r, runs, set} = reducer([120])
    let now = 100_000
    set(200)
    r.check((now += 5_000))
    set(202)
    assert.equal(r.check((now += 5_000)), true, 'a pause in the burst')
    // The burst goes on (the reduction left 130 MB), peaks, and ends with RSS at 160 MB.
    for (const mb of [180, 240]) {
      set(mb)
      assert.equal(r.check((now += 5_000)), false, `still growing at ${mb} MB`)
    }
    set(160)
    assert.equal(r.check((now += 5_000)), false, 'within 30 s of the last one')
    assert.equal(r.check((now += 30_000)), true)
    assert.deepEqual(runs, [202, 160])
  })

  it('follows a reduction made during a burst with one more once RSS has held steady for 30 s', () => {
    let rss = 120 * MiB
    let now = 100_000
    const runs: number[] = []
    // The first reduction runs while the work still needs memory: it only gets RSS to 200 MB.
    const r = new MemoryReducer({logger: pino({enabled: false}), rss: () => rss, gc: () => (runs.push(rss / MiB), (rss = (runs.length === 1 ? 200 : 125) * MiB))})
    const at = (mb: number) => ((rss = mb * MiB), r.check((now += 5_000)))
    assert.equal(at(300), false, 'growing')
    assert.equal(at(298), true, 'the burst paused')
    assert.equal(at(190), false, 'RSS sank 10 MB: steady from here')
    let checks = 0
    while (checks < 30 && !at(190)) checks++
    assert.equal(checks, 5, 'followed up 30 s later (checks 5 s apart)')
    assert.deepEqual(runs, [298, 190])
    for (let i = 0; i < 100; i++) assert.equal(at(126), false, 'nothing more to follow up')
  })

  it('waits twice as long after each reduction that gave back little, up to 10 minutes, and 30 s again after one that did', () => {
    let rss = 200 * MiB
    let gives = 2 * MiB
    let now = 0
    const runs: number[] = []
    const r = new MemoryReducer({logger: pino({enabled: false}), rss: () => rss, gc: () => (runs.push(now), (rss -= gives))})
    // Two hours of a server whose RSS rises 40 MB right after every reduction, which gives back 2 MB.
    let base = rss
    for (; now < 2 * 3_600_000; ) {
      rss = base + 40 * MiB
      if (r.check((now += 5_000))) base = rss
    }
    const gaps = runs.slice(1).map((at, i) => at - runs[i]!)
    assert.ok(runs.length <= 20, `${runs.length} reductions in two hours`)
    assert.ok(gaps.every((gap, i) => i === 0 || gap >= gaps[i - 1]!), `the gaps never shrink: ${gaps.join(', ')}`)
    assert.equal(gaps.at(-1), 600_000, 'at most 10 minutes apart')
    gives = 40 * MiB
    const before = runs.length
    for (let i = 0; runs.length < before + 2; i++) {
      rss = base + 40 * MiB
      if (r.check((now += 5_000))) base = rss
    }
    assert.ok(runs.at(-1)! - runs.at(-2)! <= 35_000, `after a reduction that gave back 40 MB the next came ${runs.at(-1)! - runs.at(-2)!} ms later`)
  })

  it('without V8\'s gc it never starts a timer', () => {
    const saved = globalThis.gc
    globalThis.gc = undefined
    try {
      const r = new MemoryReducer({logger: pino({enabled: false})})
      r.start()
      assert.equal((r as unknown as {timer?: unknown}).timer, undefined)
    } finally {
      globalThis.gc = saved
    }
  })
})
