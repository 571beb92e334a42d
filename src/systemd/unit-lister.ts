/**
 * Lists the `launcho-*` instance units: one ListUnitsByPatterns (names and active states, always
 * fresh) plus each unit's service properties from the cache that systemd's signals keep current
 * (service-cache.ts), reading over the bus only what the cache cannot answer.
 *
 * A read that fails with NoSuchUnit or UnknownObject means the unit was collected between the
 * listing and the read: it is gone. Any other failure (a timeout, the bus refusing) says nothing
 * about the unit, which systemd has just listed: it is reported as unknown, never as gone.
 */
import {LaunchoError} from '../errors.js'
import {isGone, PROPERTIES_IFACE, SERVICE_IFACE, type Bus, type Signal} from './bus.js'
import {byCodeUnits} from '../text-order.js'
import {ServiceCache, type ReadNeed, type ServiceState, type SignalledState} from './service-cache.js'
import {parseUnitName, unitNameFromPath, UNIT_PATTERN, UNIT_PREFIX} from './unit-name.js'

export interface ObservedUnit extends ServiceState {
  name: string
  process: string
  version: string
  activeState: string
  subState: string
}

/** A unit systemd lists but whose properties could not be read now; shown with what was last read. */
export interface UnknownUnit extends ObservedUnit {
  readError: string
}

export interface UnitListing {
  /** Every `launcho-*` instance unit systemd has loaded, with its state. */
  units: ObservedUnit[]
  /**
   * Listed, but reading it failed with anything other than "no such unit" (a timeout, a refusal):
   * it exists, its state is unknown this time. Never act on these; look again on the next pass.
   */
  unknown: UnknownUnit[]
}

export interface ListOptions {
  /** The periodic resync: also re-read the share of units read longest ago (a safety net). */
  resync?: boolean
}

/**
 * Each resync re-reads 1/30 of the units (at the default 10 s resync every unit within 5 minutes):
 * reading all 1000 at once costs ~1.5 s of CPU (303 properties each), too much every 10 s for a
 * net under signals that already keep every unit current.
 */
const RESYNC_SHARE = 30
const SIGNALLED_PROPERTIES = ['MainPID', 'NRestarts', 'Result', 'ExecMainCode', 'ExecMainStatus', 'ExecMainStartTimestamp'] as const
/** What a full read of a unit asks systemd for. */
const READ_PROPERTIES = [...SIGNALLED_PROPERTIES, 'Environment'] as const

const NO_STATE: ServiceState = {
  mainPid: 0,
  nRestarts: 0,
  result: '',
  execMainCode: 0,
  execMainStatus: 0,
  execMainStartUs: 0,
  stateChangeUs: 0,
  environment: [],
}

type Row = [string, string, string, string, string, string, string, number, string, string]
type Properties = Record<string, {value: unknown} | undefined>

export class UnitLister {
  private readonly cache = new ServiceCache()
  /** Reads in flight, shared by listings that overlap (the reconciler's and a status call's). */
  private readonly reading = new Map<string, Promise<ServiceState | undefined>>()
  /** How many property reads this lister sent (for benchmarks and tests). */
  reads = 0

  constructor(private readonly bus: Bus) {}

  async list(options: ListOptions = {}): Promise<UnitListing> {
    const [rows] = (await this.bus.call({member: 'ListUnitsByPatterns', signature: 'asas', body: [[], [UNIT_PATTERN]]})) as [Row[]]
    const listed = rows.flatMap(([name, , , activeState, subState, , path]) => {
      const id = parseUnitName(name)
      return id ? [{...id, name, activeState, subState, path}] : []
    })
    this.cache.retain(new Set(listed.map((unit) => unit.name)))
    if (options.resync) this.cache.refreshOldest(Math.ceil(listed.length / RESYNC_SHARE))
    const listing: UnitListing = {units: [], unknown: []}
    const toRead: typeof listed = []
    for (const unit of listed) {
      const state = this.cache.current(unit.name)
      if (state) listing.units.push(observed(unit, state))
      else toRead.push(unit)
    }
    await Promise.all(
      toRead.map(async (unit) => {
        try {
          const state = await this.read(unit.name, unit.path)
          // undefined: removed while it was read (UnitRemoved)
          if (state) listing.units.push(observed(unit, state))
        } catch (error) {
          if (isGone(error)) return
          listing.unknown.push({...observed(unit, this.cache.last(unit.name) ?? NO_STATE), readError: (error as Error).message})
        }
      }),
    )
    if (this.bus.isClosed) throw new LaunchoError('systemd_failed', 'lost the system bus while listing units', {hint: 'launcho reconnects and looks again'})
    // The reads settle in any order; keep systemd's (by name).
    const byName = (a: ObservedUnit, b: ObservedUnit) => byCodeUnits(a.name, b.name)
    listing.units.sort(byName)
    listing.unknown.sort(byName)
    return listing
  }

  /** A unit launcho started with `environment` (its Environment= property). */
  started(unit: string, environment: string[]): void {
    this.cache.started(unit, environment)
  }

  /** Feeds the cache from systemd's signals (all of them may be passed). */
  onSignal(signal: Signal): void {
    if (signal.member === 'UnitRemoved') {
      const unit = signal.body[0] as string
      if (unit.startsWith(UNIT_PREFIX)) this.cache.removed(unit)
    } else if (signal.member === 'Reloading' && signal.body[0] === false) {
      // After a daemon-reload systemd may have changed anything without a signal per unit.
      this.cache.invalidateAll()
    } else if (signal.member === 'PropertiesChanged' && signal.body[0] === SERVICE_IFACE) {
      const unit = unitNameFromPath(signal.path)
      if (!unit?.startsWith(UNIT_PREFIX)) return
      const values = signalledState(signal.body[1] as Properties)
      if (values) this.cache.signalled(unit, values)
      else this.cache.refreshUnit(unit)
    }
  }

  private read(unit: string, path: string): Promise<ServiceState | undefined> {
    let pending = this.reading.get(unit)
    if (!pending) {
      const need = this.cache.need(unit) ?? 'all'
      const mark = this.cache.mark(unit)
      pending = this.fetch(path, need)
        .then((read) => this.cache.store(unit, read, mark))
        .finally(() => this.reading.delete(unit))
      this.reading.set(unit, pending)
    }
    return pending
  }

  private async fetch(path: string, need: ReadNeed): Promise<ServiceState | {environment: string[]}> {
    this.reads++
    if (need === 'environment') {
      const [variant] = (await this.bus.call({path, iface: PROPERTIES_IFACE, member: 'Get', signature: 'ss', body: [SERVICE_IFACE, 'Environment']})) as [{value: unknown}]
      return {environment: (variant?.value as string[] | undefined) ?? []}
    }
    // One Get per property, not GetAll: a service has ~300 properties, and decoding them all cost
    // ~0.5 MB of garbage per unit (dbus-next builds every variant), for 7 values.
    const values = await Promise.all(
      READ_PROPERTIES.map(async (name) => {
        const [variant] = (await this.bus.call({path, iface: PROPERTIES_IFACE, member: 'Get', signature: 'ss', body: [SERVICE_IFACE, name]})) as [{value: unknown}]
        return [name, variant] as const
      }),
    )
    const props: Properties = Object.fromEntries(values)
    return {
      ...NO_STATE,
      ...signalledState(props),
      environment: (props.Environment?.value as string[] | undefined) ?? [],
    }
  }
}

interface Listed {
  name: string
  process: string
  version: string
  activeState: string
  subState: string
}

function observed(unit: Listed, state: ServiceState): ObservedUnit {
  return {
    name: unit.name,
    process: unit.process,
    version: unit.version,
    activeState: unit.activeState,
    subState: unit.subState,
    mainPid: state.mainPid,
    nRestarts: state.nRestarts,
    result: state.result,
    execMainCode: state.execMainCode,
    execMainStatus: state.execMainStatus,
    execMainStartUs: state.execMainStartUs,
    stateChangeUs: state.stateChangeUs,
    environment: state.environment,
  }
}

/** The values launcho uses from a service's properties, or undefined if any is missing. */
function signalledState(props: Properties): SignalledState | undefined {
  const keys = SIGNALLED_PROPERTIES
  if (keys.some((key) => props[key] === undefined)) return undefined
  const number = (key: (typeof keys)[number]) => Number(props[key]!.value)
  return {
    mainPid: number('MainPID'),
    nRestarts: number('NRestarts'),
    result: String(props.Result!.value),
    execMainCode: number('ExecMainCode'),
    execMainStatus: number('ExecMainStatus'),
    execMainStartUs: number('ExecMainStartTimestamp'),
  }
}
