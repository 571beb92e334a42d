/**
 * What launcho knows of each unit's service properties, kept current by systemd's signals so that
 * a listing need not read 1000 units again. Every PropertiesChanged of a service carries the
 * current value of each property launcho uses but Environment (checked on systemd 252: MainPID,
 * NRestarts, Result, ExecMain*), so a signal updates the entry in place. A unit is read only when
 * first seen (just its Environment when a signal already told the rest, and nothing for a unit
 * launcho started itself, whose Environment it gave), after a reconnect or a
 * systemd reload (a new epoch), and by the resync's rolling refresh, a safety net that re-reads
 * the units read longest ago.
 *
 * A read and a signal can race: the reply may be handled after a signal that systemd sent later.
 * So a read that had signals arrive while it was in flight keeps the latest signal's values.
 */
export interface ServiceState {
  /** PID in systemd's PID namespace; 0 when not running. */
  mainPid: number
  nRestarts: number
  /** `success`, `exit-code`, `signal`, `timeout`, … of the last run. */
  result: string
  /** CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3) of the last main process exit; 0 if none. */
  execMainCode: number
  execMainStatus: number
  /** Realtime µs since the epoch when the current main process started; 0 if never. */
  execMainStartUs: number
  /** Realtime µs when the unit last changed state. */
  stateChangeUs: number
  environment: string[]
}

/** The part of a service's state that its PropertiesChanged signals carry. */
export type SignalledState = Omit<ServiceState, 'environment' | 'stateChangeUs'>

/** What a listing must read of a unit before it can use it. */
export type ReadNeed = 'all' | 'environment'

export interface ReadMark {
  signals: number
  epoch: number
}

interface Entry {
  state?: ServiceState
  /** The latest values a signal carried. */
  signalled?: SignalledState
  /** The Environment launcho started the unit with (what a read would return), until a state is made. */
  started?: string[]
  signals: number
  /** The cache's epoch when `state` was read. */
  epoch: number
  /** When `state` was last read (ms); the rolling refresh reads the oldest first. */
  readAt: number
  /** To be read again in full (the rolling refresh). */
  stale: boolean
}

export class ServiceCache {
  private readonly entries = new Map<string, Entry>()
  private epoch = 0

  /** A PropertiesChanged of the unit's service interface. */
  signalled(unit: string, values: SignalledState): void {
    const entry = this.entry(unit)
    entry.signalled = values
    entry.signals++
    if (entry.state) entry.state = {...entry.state, ...values}
    else if (entry.started) this.complete(entry, entry.started)
  }

  /**
   * launcho has just started the unit with this Environment: with its first signal the state is
   * whole, and no read is needed (at 100 starts, 100 Gets fewer competing with systemd's jobs).
   */
  started(unit: string, environment: string[]): void {
    const entry = this.entry(unit)
    if (entry.state) return
    if (entry.signalled) this.complete(entry, environment)
    else entry.started = environment
  }

  private complete(entry: Entry, environment: string[]): void {
    Object.assign(entry, {state: {stateChangeUs: 0, ...entry.signalled!, environment}, epoch: this.epoch, readAt: Date.now(), stale: false, started: undefined})
  }

  /** Every unit is read again before use (a reconnect, a systemd reload). */
  invalidateAll(): void {
    this.epoch++
  }

  /** Marks the `count` units read longest ago to be read again in full. */
  refreshOldest(count: number): void {
    const read = [...this.entries.values()].filter((entry) => entry.state && !entry.stale)
    read.sort((a, b) => a.readAt - b.readAt)
    for (const entry of read.slice(0, count)) entry.stale = true
  }

  /** A change signal that did not carry the values: read the unit again in full. */
  refreshUnit(unit: string): void {
    const entry = this.entry(unit)
    entry.signalled = undefined
    entry.signals++
    entry.stale = true
  }

  removed(unit: string): void {
    this.entries.delete(unit)
  }

  /** Forgets units systemd no longer lists. */
  retain(units: ReadonlySet<string>): void {
    for (const unit of this.entries.keys()) if (!units.has(unit)) this.entries.delete(unit)
  }

  /** The unit's state when it can be used without a read. */
  current(unit: string): ServiceState | undefined {
    const entry = this.entries.get(unit)
    return entry?.state && entry.epoch === this.epoch && !entry.stale ? entry.state : undefined
  }

  /** What must be read before current() answers; undefined when nothing. */
  need(unit: string): ReadNeed | undefined {
    if (this.current(unit)) return undefined
    const entry = this.entries.get(unit)
    return entry?.signalled && !entry.state ? 'environment' : 'all'
  }

  /** The last state known, current or not (to show while a unit cannot be read). */
  last(unit: string): ServiceState | undefined {
    return this.entries.get(unit)?.state
  }

  /** Call before sending a read; hand the mark to store() with what was read. */
  mark(unit: string): ReadMark {
    return {signals: this.entry(unit).signals, epoch: this.epoch}
  }

  /** Stores a read: the whole state, or only the environment when need() said so. */
  store(unit: string, read: ServiceState | {environment: string[]}, mark: ReadMark): ServiceState | undefined {
    const entry = this.entries.get(unit)
    // Removed (UnitRemoved, or no longer listed) while the read was in flight: keep nothing.
    if (!entry) return undefined
    let state: ServiceState | undefined = 'mainPid' in read ? read : entry.signalled && {stateChangeUs: 0, ...entry.signalled, ...read}
    if (!state) return undefined
    const signalledMeanwhile = entry.signals !== mark.signals
    if (signalledMeanwhile && entry.signalled) state = {...state, ...entry.signalled}
    // A change told without its values while this read was in flight: the read may predate it.
    const stale = signalledMeanwhile && !entry.signalled
    Object.assign(entry, {state, epoch: mark.epoch, readAt: Date.now(), stale})
    return state
  }

  get size(): number {
    return this.entries.size
  }

  private entry(unit: string): Entry {
    let entry = this.entries.get(unit)
    if (!entry) this.entries.set(unit, (entry = {signals: 0, epoch: -1, readAt: 0, stale: false}))
    return entry
  }
}
