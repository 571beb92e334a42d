/**
 * SystemdManager.list() against a fake bus (the `Bus` interface SystemBus implements): which read
 * errors mean "the unit is gone" and which mean "unknown this time", and what a listing reads
 * over the bus (only what systemd's signals have not told).
 */
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {describe, it} from 'node:test'
import {LaunchoError} from '../../src/errors.js'
import {BusError, MANAGER_IFACE, MANAGER_PATH, PROPERTIES_IFACE, type Bus, type CallOptions, type Signal} from '../../src/systemd/bus.js'
import {SystemdManager} from '../../src/systemd/manager.js'

const serviceProps = (mainPid: number, nRestarts = 0) => ({
  MainPID: {value: mainPid},
  NRestarts: {value: nRestarts},
  Result: {value: 'success'},
  ExecMainCode: {value: 0},
  ExecMainStatus: {value: 0},
  ExecMainStartTimestamp: {value: 1_700_000_000_000_000n},
})
const pathOf = (unit: string) => `/org/freedesktop/systemd1/unit/${unit.replace(/[^a-zA-Z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`
const unitName = (process: string) => `launcho-${process}-0123abcd.service`

class FakeBus extends EventEmitter<{signal: [Signal]; disconnected: [Error]}> implements Bus {
  readonly address = 'fake'
  isClosed = false
  /** unit → MainPID it reports, or the error each read of its properties fails with. */
  readonly units = new Map<string, number | Error>()
  /** `unit` for each full read, `unit Environment` for each read of Environment alone. */
  readonly reads: string[] = []
  /** Every property asked for, in order (`Property`). */
  readonly asked: string[] = []
  /** Units whose full read has asked for MainPID and not yet for Environment. */
  private readonly fullReads = new Set<string>()
  /** Calls to hold until release() (reads of these units). */
  held = new Set<string>()
  private readonly waiting: Array<() => void> = []
  startError?: Error

  async call(options: CallOptions): Promise<unknown[]> {
    if (options.member === 'ListUnitsByPatterns') {
      return [[...this.units.keys()].map((name) => [name, 'desc', 'loaded', 'active', 'running', '', pathOf(name), 0, '', '/'])]
    }
    if (options.member === 'Get' && options.iface === PROPERTIES_IFACE) {
      const unit = [...this.units.keys()].find((name) => pathOf(name) === options.path)
      if (!unit) throw new BusError('org.freedesktop.DBus.Error.UnknownObject', `Unknown object '${options.path}'.`)
      const property = String(options.body![1])
      this.asked.push(property)
      // A full read asks for MainPID first and Environment last; Environment alone is its own read.
      if (property === 'MainPID') {
        this.reads.push(unit)
        this.fullReads.add(unit)
      } else if (property === 'Environment' && !this.fullReads.delete(unit)) this.reads.push(`${unit} Environment`)
      if (this.held.has(unit)) await new Promise<void>((resolve) => this.waiting.push(resolve))
      const answer = this.units.get(unit)
      if (answer instanceof Error) throw answer
      const values: Record<string, {value: unknown}> = {...serviceProps(answer ?? 0), Environment: {value: ['A=1']}}
      if (!values[property]) throw new BusError('org.freedesktop.DBus.Error.UnknownProperty', `no property ${property}`)
      return [values[property]]
    }
    if (options.member === 'StartTransientUnit') {
      if (this.startError) throw this.startError
      return ['/org/freedesktop/systemd1/job/1']
    }
    throw new Error(`the fake bus has no ${options.member}`)
  }

  release(): void {
    this.held.clear()
    for (const resolve of this.waiting.splice(0)) resolve()
  }

  /** What systemd sends: every value launcho uses but Environment. */
  propertiesChanged(unit: string, mainPid: number, nRestarts = 0): void {
    const changed = {...serviceProps(mainPid, nRestarts), ControlPID: {value: 0}, StatusText: {value: ''}}
    this.emit('signal', {path: pathOf(unit), iface: PROPERTIES_IFACE, member: 'PropertiesChanged', body: ['org.freedesktop.systemd1.Service', changed, ['ExecStart']]})
  }

  /** A change told without the values launcho needs (not seen from systemd 252, but possible). */
  changedWithoutValues(unit: string): void {
    this.emit('signal', {path: pathOf(unit), iface: PROPERTIES_IFACE, member: 'PropertiesChanged', body: ['org.freedesktop.systemd1.Service', {}, ['MainPID']]})
  }

  jobRemoved(unit: string, job = '/org/freedesktop/systemd1/job/1'): void {
    this.emit('signal', {path: MANAGER_PATH, iface: MANAGER_IFACE, member: 'JobRemoved', body: [1, job, unit, 'done']})
  }

  close(): void {
    this.isClosed = true
  }
}

function setUp(units: Record<string, number | Error>) {
  const bus = new FakeBus()
  for (const [process, answer] of Object.entries(units)) bus.units.set(unitName(process), answer)
  return {bus, manager: new SystemdManager(bus)}
}

const names = (units: Array<{name: string}>) => units.map((unit) => unit.name)

describe('SystemdManager.list: what a failed read means', () => {
  it('a unit collected between the listing and its read (NoSuchUnit, UnknownObject) is gone', async () => {
    const {manager} = setUp({
      web: 11,
      collected: new BusError('org.freedesktop.systemd1.NoSuchUnit', 'Unit launcho-collected-0123abcd.service not loaded.'),
      vanished: new BusError('org.freedesktop.DBus.Error.UnknownObject', 'Unknown object.'),
    })
    const listing = await manager.list()
    assert.deepEqual(names(listing.units), [unitName('web')])
    assert.equal(listing.units[0]!.mainPid, 11)
    assert.deepEqual(listing.unknown, [], 'gone is not unknown')
  })

  it('any other failure (the bus refusing, a timeout) leaves the unit listed as unknown, with what was last read', async () => {
    const {bus, manager} = setUp({web: 11, api: 12, worker: 13})
    await manager.list()
    bus.units.set(unitName('api'), new BusError('org.freedesktop.DBus.Error.LimitsExceeded', 'The maximum number of pending replies per connection has been reached'))
    bus.units.set(unitName('worker'), new LaunchoError('systemd_failed', 'D-Bus Get timed out after 10000 ms'))
    bus.changedWithoutValues(unitName('api'))
    bus.changedWithoutValues(unitName('worker'))
    const listing = await manager.list()
    assert.deepEqual(names(listing.units), [unitName('web')])
    assert.deepEqual(names(listing.unknown), [unitName('api'), unitName('worker')])
    assert.match(listing.unknown[0]!.readError, /maximum number of pending replies/)
    assert.equal(listing.unknown[0]!.mainPid, 12, 'the last state read, to show')
    assert.equal(listing.unknown[0]!.activeState, 'active', 'the listing itself is fresh')

    // Readable again: back in the listing with a fresh read.
    bus.units.set(unitName('api'), 22)
    const again = await manager.list()
    assert.deepEqual(names(again.unknown), [unitName('worker')])
    assert.equal(again.units.find((unit) => unit.name === unitName('api'))?.mainPid, 22)
  })

  it('a unit never read and unreadable is unknown with no state, never silently dropped', async () => {
    const {manager} = setUp({web: new BusError('org.freedesktop.DBus.Error.NoReply', 'Did not receive a reply.')})
    const listing = await manager.list()
    assert.deepEqual(listing.units, [])
    assert.deepEqual(names(listing.unknown), [unitName('web')])
    assert.equal(listing.unknown[0]!.mainPid, 0)
  })
})

describe('SystemdManager.list: reads only what signals have not told', () => {
  it('a read asks for the 7 properties launcho uses, not all of a service (~300, ~0.5 MB of garbage each)', async () => {
    const {bus, manager} = setUp({a: 41})
    const [unit] = (await manager.list()).units
    assert.equal(unit!.mainPid, 41)
    assert.equal(unit!.execMainStartUs, 1_700_000_000_000_000)
    assert.deepEqual(unit!.environment, ['A=1'])
    assert.deepEqual(bus.asked.sort(), ['Environment', 'ExecMainCode', 'ExecMainStartTimestamp', 'ExecMainStatus', 'MainPID', 'NRestarts', 'Result'])
  })

  it('a new manager reads every unit once; then signals keep the state current without reads', async () => {
    const {bus, manager} = setUp({a: 1, b: 2, c: 3})
    await manager.list()
    assert.deepEqual(bus.reads.sort(), [unitName('a'), unitName('b'), unitName('c')])
    bus.reads.length = 0
    assert.equal((await manager.list()).units.length, 3)
    assert.deepEqual(bus.reads, [], 'nothing changed: nothing read')

    bus.units.set(unitName('b'), 20)
    bus.propertiesChanged(unitName('b'), 20, 1)
    const listing = await manager.list()
    assert.deepEqual(bus.reads, [], 'the signal carried the new values')
    const b = listing.units.find((unit) => unit.name === unitName('b'))!
    assert.deepEqual([b.mainPid, b.nRestarts, b.environment], [20, 1, ['A=1']])
  })

  it('a change told without its values, and a systemd reload, make the listing read again', async () => {
    const {bus, manager} = setUp({a: 1, b: 2})
    await manager.list()
    bus.reads.length = 0
    bus.units.set(unitName('a'), 10)
    bus.changedWithoutValues(unitName('a'))
    assert.equal((await manager.list()).units[0]!.mainPid, 10)
    assert.deepEqual(bus.reads, [unitName('a')])

    bus.reads.length = 0
    bus.emit('signal', {path: MANAGER_PATH, iface: MANAGER_IFACE, member: 'Reloading', body: [false]})
    await manager.list()
    assert.deepEqual(bus.reads.sort(), [unitName('a'), unitName('b')])
  })

  it('a unit first seen after its signals: only its Environment is read', async () => {
    const {bus, manager} = setUp({})
    await manager.list()
    bus.units.set(unitName('new'), 7)
    bus.propertiesChanged(unitName('new'), 7)
    const listing = await manager.list()
    assert.deepEqual(bus.reads, [`${unitName('new')} Environment`])
    assert.deepEqual([listing.units[0]!.mainPid, listing.units[0]!.environment], [7, ['A=1']])
  })

  it('the resync re-reads a share of the units, those read longest ago first, until all were', async () => {
    const units = Object.fromEntries(Array.from({length: 60}, (_, i) => [`u${i}`, i + 1]))
    const {bus, manager} = setUp(units)
    await manager.list()
    const reread = new Set<string>()
    for (let pass = 0; pass < 30; pass++) {
      await new Promise((resolve) => setTimeout(resolve, 2))
      bus.reads.length = 0
      await manager.list({resync: true})
      assert.equal(bus.reads.length, 2, 'a 30th of the units per resync')
      for (const unit of bus.reads) reread.add(unit)
    }
    assert.equal(reread.size, 60, '30 resyncs re-read every unit once')
  })

  it('a signal handled while a read of the same unit is in flight keeps its values (the read may be older)', async () => {
    const {bus, manager} = setUp({a: 1})
    await manager.list()
    bus.changedWithoutValues(unitName('a'))
    bus.held.add(unitName('a'))
    const first = manager.list()
    await new Promise((resolve) => setImmediate(resolve))
    bus.propertiesChanged(unitName('a'), 2) // systemd already moved on; the held reply says 1
    bus.release()
    assert.equal((await first).units[0]!.mainPid, 2)
    bus.reads.length = 0
    assert.equal((await manager.list()).units[0]!.mainPid, 2)
    assert.deepEqual(bus.reads, [])
  })

  it('overlapping listings share one read per unit', async () => {
    const {bus, manager} = setUp({a: 1, b: 2})
    const [one, two] = await Promise.all([manager.list(), manager.list()])
    assert.equal(bus.reads.length, 2)
    assert.deepEqual(names(one.units), names(two.units))
  })

  it('a unit systemd no longer lists is forgotten, and read afresh if it comes back', async () => {
    const {bus, manager} = setUp({a: 1})
    await manager.list()
    bus.units.delete(unitName('a'))
    assert.deepEqual((await manager.list()).units, [])
    bus.units.set(unitName('a'), 5)
    bus.reads.length = 0
    const listing = await manager.list()
    assert.deepEqual(bus.reads, [unitName('a')])
    assert.equal(listing.units[0]!.mainPid, 5)
  })
})

describe('SystemdManager.start', () => {
  const spec = {
    name: unitName('web'),
    description: 'web',
    command: ['sleep', 'infinity'],
    env: {},
    workingDirectory: '/',
    syslogIdentifier: 'web',
    journalFields: {},
    restartDelayMs: 100,
    stopTimeoutMs: 1_000,
    startTimeoutMs: 1_000,
  }

  it('UnitExists means the unit is there already: "exists", not a failed start', async () => {
    const {bus, manager} = setUp({})
    bus.startError = new BusError('org.freedesktop.systemd1.UnitExists', `Unit ${unitName('web')} was already loaded or has a fragment file.`)
    assert.equal(await manager.start(spec), 'exists')
  })

  it('other start errors still fail the start', async () => {
    const {bus, manager} = setUp({})
    bus.startError = new BusError('org.freedesktop.DBus.Error.LimitsExceeded', 'too many')
    await assert.rejects(manager.start(spec), /too many/)
  })

  it('a unit it started is known whole from its first signal: the listing reads nothing, the Environment is the one given', async () => {
    const {bus, manager} = setUp({})
    const started = manager.start({...spec, env: {PORT: '8000'}})
    await new Promise((resolve) => setImmediate(resolve))
    bus.units.set(unitName('web'), 9)
    bus.propertiesChanged(unitName('web'), 9)
    bus.jobRemoved(unitName('web'))
    assert.equal(await started, 'done')
    const [unit] = (await manager.list()).units
    assert.deepEqual([unit!.mainPid, unit!.environment], [9, ['PORT=8000']])
    assert.deepEqual(bus.reads, [], 'no read, not even of Environment')
  })

  it('waits for the job and reports its result', async () => {
    const {bus, manager} = setUp({})
    const started = manager.start(spec)
    await new Promise((resolve) => setImmediate(resolve))
    bus.jobRemoved(unitName('web'))
    assert.equal(await started, 'done')
  })
})
