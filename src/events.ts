/**
 * The recent events `launcho status` ends with: a bounded ring, newest last. Messages never
 * contain secret values: they are built from process names, unit names and systemd's words, and
 * `redact` (the server's SecretRedactor) replaces any value that still slips in by `${NAME}`. A
 * failure repeated on every retry (a start that keeps failing) is one entry with a count.
 */
export type EventKind =
  | 'started'
  | 'start-failed'
  | 'exited'
  | 'crash-looping'
  | 'replaced'
  | 'stopped'
  | 'target-set'
  | 'secret-changed'
  | 'restart'
  | 'restarted'
  | 'rechecking'
  | 'serving'
  | 'unhealthy'
  | 'draining'
  | 'rollout-failed'
  | 'error'

export interface LaunchoEvent {
  time: string
  kind: EventKind
  process?: string
  message: string
  /** How many times in a row this event happened, when more than once. */
  repeated?: number
}

export class EventLog {
  private readonly events: LaunchoEvent[] = []

  constructor(
    private readonly capacity = 500,
    private readonly redact: (text: string) => string = (text) => text,
  ) {}

  add(kind: EventKind, message: string, process?: string): LaunchoEvent {
    const event: LaunchoEvent = {time: new Date().toISOString(), kind, ...(process ? {process} : {}), message: this.redact(message)}
    this.events.push(event)
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity)
    return event
  }

  /**
   * For a failure that repeats on every retry: when the process's latest event is of the same
   * kind, it is replaced by this one (latest time and words) and the repeat counted.
   */
  addOrFold(kind: EventKind, message: string, process?: string): LaunchoEvent {
    let at = this.events.length - 1
    while (at >= 0 && this.events[at]!.process !== process) at--
    const last = this.events[at]
    if (last?.kind !== kind) return this.add(kind, message, process)
    this.events.splice(at, 1)
    const folded: LaunchoEvent = {...last, time: new Date().toISOString(), message, repeated: (last.repeated ?? 1) + 1}
    this.events.push(folded)
    return folded
  }

  recent(count: number): LaunchoEvent[] {
    return count <= 0 ? [] : this.events.slice(-count)
  }
}
