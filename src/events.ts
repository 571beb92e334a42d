/**
 * The server's events (`launcho status` ends with the recent ones; `GET /v1/events` streams
 * them): a bounded ring, newest last, each with a sequence number, and subscribers told of each
 * new one. Messages never contain secret values: they are built from process names, unit names
 * and systemd's words, and `redact` (the server's SecretRedactor) replaces any value that still
 * slips in by `${NAME}`. A failure repeated on every retry (a start that keeps failing) is one
 * entry with a count.
 */
import {EVENT_LOG_CAPACITY, type EventKind, type LaunchoEvent} from './protocol/events.js'

export type {EventKind, LaunchoEvent} from './protocol/events.js'

export type EventListener = (event: LaunchoEvent) => void

export class EventLog {
  private readonly events: LaunchoEvent[] = []
  private readonly listeners = new Set<EventListener>()
  private seq = 0

  constructor(
    private readonly capacity = EVENT_LOG_CAPACITY,
    private readonly redact: (text: string) => string = (text) => text,
  ) {}

  add(kind: EventKind, message: string, process?: string): LaunchoEvent {
    return this.push({seq: ++this.seq, time: new Date().toISOString(), kind, ...(process ? {process} : {}), message: this.redact(message)})
  }

  /**
   * For a failure that repeats on every retry: when the process's latest event is of the same
   * kind, it is replaced by this one (latest time and words, a new sequence number) and the
   * repeat counted.
   */
  addOrFold(kind: EventKind, message: string, process?: string): LaunchoEvent {
    let at = this.events.length - 1
    while (at >= 0 && this.events[at]!.process !== process) at--
    const last = this.events[at]
    if (last?.kind !== kind) return this.add(kind, message, process)
    this.events.splice(at, 1)
    return this.push({...last, seq: ++this.seq, time: new Date().toISOString(), message: this.redact(message), repeated: (last.repeated ?? 1) + 1})
  }

  recent(count: number): LaunchoEvent[] {
    return count <= 0 ? [] : this.events.slice(-count)
  }

  /** The sequence number of the newest event (0 before the first). */
  lastSeq(): number {
    return this.seq
  }

  /**
   * The kept events after `seq`. A `seq` this server never issued (a client that followed an
   * earlier run of the server, whose numbers went higher) means all of them.
   */
  after(seq: number): LaunchoEvent[] {
    if (seq > this.seq) seq = 0
    let at = this.events.length
    while (at > 0 && this.events[at - 1]!.seq > seq) at--
    return this.events.slice(at)
  }

  /** Calls `listener` with each event added from now on; returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private push(event: LaunchoEvent): LaunchoEvent {
    this.events.push(event)
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity)
    for (const listener of this.listeners) {
      // A subscriber (an API stream) must never break the reconciler action that added the event.
      try {
        listener(event)
      } catch {
        this.listeners.delete(listener)
      }
    }
    return event
  }
}
