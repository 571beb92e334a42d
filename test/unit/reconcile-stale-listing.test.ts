/**
 * A listing that began before a process's action ended is not that listing's to judge: on main,
 * a listing that still showed a unit launcho was stopping (a crash loop's hold), taken in after
 * the stop, adopted the unit again, and the next listing, without it, made launcho say someone ran
 * `systemctl stop` (a CI failure of crashes.test: "stopped outside launcho" in place of the crash's
 * reason). systemd is a fake here, so that the listing can be held open across the stop.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {ObservedUnit, StartResult, StopOutcome, UnitListing} from '../../src/systemd/manager.js'
import type {UnitSpec} from '../../src/systemd/unit-spec.js'
import {desiredOf, fakeReconciler, running, unitOf, until} from '../helpers/fake-reconciler.js'

const CRASHER = unitOf('crasher')
const OTHER = unitOf('other')

/** systemd as the reconciler sees it; a listing can be held open (its answer taken at the call). */
class FakeSystemd {
  readonly units = new Map<string, ObservedUnit>()
  readonly stops: string[] = []
  lists = 0
  /** While set, a list() call answers with the units of its call time, once released. */
  hold?: {called: () => void; release: Promise<void>}
  /** While set, a stop waits for this before the unit goes. */
  stopGate?: Promise<void>
  onStop?: () => void

  async list(): Promise<UnitListing> {
    this.lists++
    const answer: UnitListing = {units: [...this.units.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), unknown: []}
    const hold = this.hold
    if (hold) {
      this.hold = undefined
      hold.called()
      await hold.release
    }
    return answer
  }

  async start(unit: UnitSpec): Promise<StartResult> {
    const name = unit.name.replace(/^launcho-/, '').replace(/-[0-9a-f]{8}\.service$/, '')
    this.units.set(unit.name, running(name))
    return 'done'
  }

  async stop(name: string): Promise<StopOutcome> {
    this.stops.push(name)
    const unit = this.units.get(name)
    if (unit) this.units.set(name, {...unit, activeState: 'deactivating', subState: 'stop-sigterm'})
    this.onStop?.()
    await this.stopGate
    this.units.delete(name)
    return {job: 'done', controlRan: false}
  }

  async startRuns(): Promise<undefined> {
    return undefined
  }
}

function deferred(): {promise: Promise<void>; resolve: () => void} {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return {promise, resolve}
}

describe('the reconciler and a listing older than an action', () => {
  it('does not adopt a unit it stopped from a listing begun during the stop, nor call its absence an outside stop', async () => {
    const systemd = new FakeSystemd()
    systemd.units.set(CRASHER, running('crasher'))
    systemd.units.set(OTHER, running('other'))
    const {reconciler, events, close} = await fakeReconciler(systemd, {
      crashPolicy: {threshold: 3, windowMs: 60_000, baseDelayMs: 60_000, maxDelayMs: 60_000, resetAfterMs: 60_000},
    })
    const listingBegun = deferred()
    const releaseListing = deferred()
    const stopGate = deferred()
    try {
      reconciler.start()
      reconciler.setDesired(new Map([['crasher', desiredOf('crasher')], ['other', desiredOf('other')]]))
      await until('both adopted', () => reconciler.registry.get(CRASHER) !== undefined && reconciler.registry.get(OTHER) !== undefined)

      // During the hold's stop, another process's pass begins a listing that still shows the
      // crasher (stopping); it is answered only after the stop has ended.
      systemd.stopGate = stopGate.promise
      systemd.onStop = () => {
        systemd.hold = {called: listingBegun.resolve, release: releaseListing.promise}
        reconciler.kick('other')
      }

      // Three crashes, each told by systemd's signal and seen by a listing: the crash policy holds it back.
      for (let crash = 1; crash <= 3; crash++) {
        systemd.units.set(CRASHER, running('crasher', crash))
        reconciler.onUnitChanged(CRASHER, {mainPid: 0, exit: {code: 1, status: 3, result: 'exit-code', exitUs: Date.now() * 1000 + crash}})
        if (crash < 3) await until(`crash ${crash} seen`, () => reconciler.tracker('crasher').view(Date.now()).crashesInWindow >= crash)
      }
      await until('the hold stops the crasher', () => systemd.stops.includes(CRASHER))
      await listingBegun.promise
      stopGate.resolve()
      await until('the stop ended', () => reconciler.registry.get(CRASHER) === undefined)
      releaseListing.resolve()

      // A pass of the crasher after the stale listing, with a listing that no longer shows it; a
      // second kick's listing begins only once that pass has ended (a key never runs twice at once).
      const lists = systemd.lists
      reconciler.kick('crasher')
      await until('a listing after the stale one', () => systemd.lists >= lists + 1)
      reconciler.kick('crasher')
      await until('the pass after it', () => systemd.lists >= lists + 2)

      assert.equal(reconciler.registry.get(CRASHER), undefined, 'the stopped unit is not adopted back')
      const said = events.recent(100).map((event) => event.message)
      assert.deepEqual(said.filter((message) => /outside launcho/.test(message)), [])
      assert.match(reconciler.tracker('crasher').lastFailure?.reason ?? '', /exited with status 3/)
    } finally {
      await reconciler.stop()
    }
  })
})
