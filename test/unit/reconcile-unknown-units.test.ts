/**
 * The reconciler never acts on a process whose unit systemd lists but launcho could not read in
 * this pass (on main such a unit counted as gone and was started again: UnitExists, "already
 * loaded"). It looks again soon, and acts once the unit can be read. systemd is a fake here.
 */
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {pino} from 'pino'
import {EventLog} from '../../src/events.js'
import {Journal} from '../../src/logs/journal.js'
import type {DesiredProcess, DesiredState} from '../../src/reconcile/desired.js'
import {Reconciler} from '../../src/reconcile/reconciler.js'
import {StateDir} from '../../src/store/state-dir.js'
import type {ObservedUnit, StartResult, SystemdManager, UnitListing} from '../../src/systemd/manager.js'
import type {UnitSpec} from '../../src/systemd/unit-spec.js'
import {argvOfResolved} from '../../src/target/argv-ports.js'

const VERSION = '0123abcd'
const UNIT = `launcho-web-${VERSION}.service`
const spec = {name: 'web', command: ['sleep', 'infinity'], env: {}, resources: [], receives: []}
const desired: DesiredState = new Map<string, DesiredProcess>([
  ['web', {spec, template: spec, secretDigests: {}, generation: 0, version: VERSION, replicas: 1, maxSurge: 1, unit: UNIT, units: [UNIT], argv: {command: argvOfResolved(spec.command)}}],
])
const running: ObservedUnit = {
  name: UNIT,
  process: 'web',
  version: VERSION,
  activeState: 'active',
  subState: 'running',
  mainPid: 42,
  nRestarts: 0,
  result: 'success',
  execMainCode: 0,
  execMainStatus: 0,
  execMainStartUs: Date.now() * 1000,
  stateChangeUs: 0,
  environment: [],
}

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
    this.listing = {units: [running], unknown: []}
    return 'done'
  }

  async stop(name: string): Promise<'done'> {
    this.stops.push(name)
    return 'done'
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('the reconciler and units it cannot read', () => {
  const dirs: string[] = []
  after(async () => {
    for (const dir of dirs) await rm(dir, {recursive: true, force: true})
  })

  it('leaves a process alone while its unit is unknown, looks again soon, and acts once it can read it', async () => {
    const dir = await mkdtemp('/var/tmp/launcho-unit-')
    dirs.push(dir)
    const stateDir = new StateDir(dir, join(dir, 'environments'))
    await stateDir.ensure()
    const systemd = new FakeSystemd()
    systemd.listing = {units: [], unknown: [{...running, mainPid: 0, readError: 'The maximum number of pending replies per connection has been reached'}]}
    const reconciler = new Reconciler({
      systemd: () => systemd as unknown as SystemdManager,
      journal: new Journal(),
      stateDir,
      logger: pino({level: 'silent'}),
      events: new EventLog(),
      timings: {restartDelayMs: 100, stopTimeoutMs: 1_000, startTimeoutMs: 1_000},
      resyncMs: 3_600_000,
      portRange: {first: 20_000, last: 20_100},
      drainTimeoutMs: 1_000,
    })
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
      await reconciler.stop()
    }
  })
})
