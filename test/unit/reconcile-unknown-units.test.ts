/**
 * The reconciler never acts on a process whose unit systemd lists but launcho could not read in
 * this pass (on main such a unit counted as gone and was started again: UnitExists, "already
 * loaded"). It looks again soon, and acts once the unit can be read. systemd is a fake here.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {DesiredState} from '../../src/reconcile/desired.js'
import type {StartResult, StopOutcome, UnitListing} from '../../src/systemd/manager.js'
import type {UnitSpec} from '../../src/systemd/unit-spec.js'
import {desiredOf, fakeReconciler, running, unitOf, until} from '../helpers/fake-reconciler.js'

const UNIT = unitOf('web')
const desired: DesiredState = new Map([['web', desiredOf('web')]])

class FakeSystemd {
  listing: UnitListing = {units: [], unknown: []}
  lists = 0
  readonly starts: string[] = []
  /** How many listings there had been when the last start began. */
  listsAtStart = 0
  readonly stops: string[] = []
  reads = 0

  async list(): Promise<UnitListing> {
    this.lists++
    return this.listing
  }

  async start(unit: UnitSpec): Promise<StartResult> {
    this.starts.push(unit.name)
    this.listsAtStart = this.lists
    this.listing = {units: [running('web')], unknown: []}
    return 'done'
  }

  async stop(name: string): Promise<StopOutcome> {
    this.stops.push(name)
    return {job: 'done', controlRan: false}
  }
}

describe('the reconciler and units it cannot read', () => {
  it('leaves a process alone while its unit is unknown, looks again soon, and acts once it can read it', async () => {
    const systemd = new FakeSystemd()
    systemd.listing = {units: [], unknown: [{...running('web'), mainPid: 0, readError: 'The maximum number of pending replies per connection has been reached'}]}
    const {reconciler, close} = await fakeReconciler(systemd)
    try {
      reconciler.start()
      reconciler.setDesired(desired)
      // No signal, no resync: the retry of the unknown unit is what brings the next passes.
      await until('three passes', () => systemd.lists >= 3)
      assert.deepEqual(systemd.starts, [], 'a unit that exists but could not be read is never started again')
      assert.deepEqual(systemd.stops, [])

      // Readable again, and gone meanwhile: now the reconciler starts it, once.
      systemd.listing = {units: [], unknown: []}
      await until('a start', () => systemd.starts.length > 0)
      // The start's end kicks one more pass, which sees the unit running and leaves it.
      await until('the pass after the start', () => systemd.lists > systemd.listsAtStart)
      assert.deepEqual(systemd.starts, [UNIT])
    } finally {
      await close()
    }
  })
})
