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
    set(140)
    r.check((now += 5_000))
    assert.equal(r.check((now += 5_000)), false, '20 MB is not worth a full GC')
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
