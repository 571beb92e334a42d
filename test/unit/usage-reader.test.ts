/**
 * UsageReader against a fake bus: which reads a status call waits for, which it answers from the
 * last values, and what systemd's "not known" becomes.
 */
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {describe, it} from 'node:test'
import {setTimeout as delay} from 'node:timers/promises'
import type {Bus, CallOptions, Signal} from '../../src/systemd/bus.js'
import {unitNameFromPath} from '../../src/systemd/unit-name.js'
import {USAGE_WORKERS, UsageReader} from '../../src/systemd/usage-reader.js'

async function until(condition: () => boolean): Promise<void> {
  for (const started = Date.now(); !condition(); await delay(5)) if (Date.now() - started > 2_000) throw new Error('timed out')
}

const UNSET = 2n ** 64n - 1n

class UsageBus extends EventEmitter<{signal: [Signal]; disconnected: [Error]}> implements Bus {
  readonly address = 'fake'
  isClosed = false
  reads = 0
  /** How long each Get takes. */
  delayMs = 0
  memory = 1_000n
  inFlight = 0
  maxInFlight = 0
  async call(options: CallOptions): Promise<unknown[]> {
    assert.equal(options.member, 'Get')
    assert.match(unitNameFromPath(options.path!) ?? '', /^launcho-web\d*-0123abcd\.service$/)
    this.reads++
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight)
    if (this.delayMs > 0) await delay(this.delayMs)
    this.inFlight--
    const property = options.body![1] as string
    return [{value: property === 'MemoryCurrent' ? this.memory : property === 'TasksCurrent' ? 3n : UNSET}]
  }
  close(): void {}
}

const unit = 'launcho-web-0123abcd.service'

describe('usage reads', () => {
  it('read MemoryCurrent, CPUUsageNSec and TasksCurrent, leaving out what systemd does not know', async () => {
    const bus = new UsageBus()
    const usage = await new UsageReader(bus).read([unit])
    assert.deepEqual(usage.get(unit), {memoryBytes: 1000, tasks: 3})
    assert.equal(bus.reads, 3)
  })

  it('answer from the last values while fresh ones are read, and read no more than every 2 s', async () => {
    const bus = new UsageBus()
    const reader = new UsageReader(bus)
    await reader.read([unit])
    await reader.read([unit])
    assert.equal(bus.reads, 3, 'fresh values are not read again')
    bus.delayMs = 1_000
    bus.memory = 2_000n
    const real = Date.now
    Date.now = () => real() + 3_000
    try {
      const started = real()
      const usage = await reader.read([unit])
      assert.ok(real() - started < 200, 'did not wait for the new read')
      assert.equal(usage.get(unit)?.memoryBytes, 1000, 'the last values meanwhile')
    } finally {
      Date.now = real
    }
  })

  it('start a refresh only after the answer that found the values stale', async () => {
    const bus = new UsageBus()
    const reader = new UsageReader(bus)
    await reader.read([unit])
    const real = Date.now
    Date.now = () => real() + 3_000
    try {
      await reader.read([unit])
      assert.equal(bus.reads, 3, 'no read was sent before the answer')
      await until(() => bus.reads === 6)
    } finally {
      Date.now = real
    }
  })

  it(`read at most ${USAGE_WORKERS} units at once, leaving the bus to other calls`, async () => {
    const bus = new UsageBus()
    bus.delayMs = 2
    const units = Array.from({length: 100}, (_, i) => `launcho-web${i}-0123abcd.service`)
    const usage = await new UsageReader(bus).read(units)
    assert.equal(usage.size, 100, 'every unit read within the wait')
    assert.equal(bus.reads, 300)
    assert.ok(bus.maxInFlight <= USAGE_WORKERS * 3, `${bus.maxInFlight} calls were in flight at once`)
  })

  it('after its first answer, wait for no new unit: it shows usage once read', async () => {
    const bus = new UsageBus()
    const reader = new UsageReader(bus)
    await reader.read([unit])
    bus.delayMs = 1_000
    const started = Date.now()
    const newcomer = 'launcho-web2-0123abcd.service'
    const usage = await reader.read([unit, newcomer])
    assert.ok(Date.now() - started < 200, `waited ${Date.now() - started} ms for the new unit`)
    assert.deepEqual([...usage.keys()], [unit])
    await until(() => bus.reads === 6)
    await delay(1_100)
    assert.equal((await reader.read([unit, newcomer])).get(newcomer)?.memoryBytes, 1000)
  })

  it(`read 1000 units, ${USAGE_WORKERS} at a time, all of them`, async () => {
    const bus = new UsageBus()
    bus.delayMs = 1
    const units = Array.from({length: 1000}, (_, i) => `launcho-web${i}-0123abcd.service`)
    const reader = new UsageReader(bus)
    await reader.read(units)
    await until(() => bus.reads === 3000)
    assert.ok(bus.maxInFlight <= USAGE_WORKERS * 3, `${bus.maxInFlight} calls were in flight at once`)
    assert.equal((await reader.read(units)).size, 1000, 'every unit has its usage')
    assert.equal(bus.reads, 3000, 'and none was read twice')
  })

  it('wait at most 300 ms for a unit never read', async () => {
    const bus = new UsageBus()
    bus.delayMs = 2_000
    const started = Date.now()
    const usage = await new UsageReader(bus).read([unit])
    assert.ok(Date.now() - started < 1_000)
    assert.equal(usage.size, 0)
  })
})
