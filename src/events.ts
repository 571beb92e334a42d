/**
 * The recent events `launcho status` ends with: a bounded ring, newest last. Messages never
 * contain secret values: they are built from process names, unit names and systemd's words, and
 * `redact` (the server's SecretRedactor) replaces any value that still slips in by `${NAME}`.
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

  recent(count: number): LaunchoEvent[] {
    return count <= 0 ? [] : this.events.slice(-count)
  }
}
