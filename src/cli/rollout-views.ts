/**
 * How a followed rollout looks: on a terminal, one line per process redrawn in place (its phase
 * and what its new and old instances do) with the latest events below; into a pipe or file, one
 * line per event and one when a process is done; with --json, nothing until the end.
 */
import type {LaunchoEvent} from '../protocol/events.js'
import type {RolloutView} from './follow-rollout.js'
import {localTime} from './format.js'
import {LiveView} from './live-view.js'
import type {Progress} from './rollout-progress.js'

const SHOWN_EVENTS = 3

export function eventLine(event: LaunchoEvent): string {
  return `${localTime(event.time)}  ${event.kind.padEnd(14)} ${event.process ? `${event.process}: ` : ''}${event.message}${event.repeated ? ` (${event.repeated} times)` : ''}`
}

export function outcomeLine(progress: Progress): string {
  switch (progress.outcome) {
    case 'serving':
      return `${progress.process}: serving ${progress.change.to}`
    case 'stopped':
      return `${progress.process}: stopped`
    default:
      return `${progress.process}: failed: ${progress.reason}`
  }
}

export function versions(progress: Progress): string {
  const {change} = progress
  if (change.change === 'start') return `start ${change.to}`
  if (change.change === 'stop') return `stop ${change.from}`
  return `${change.from} -> ${change.to}`
}

export class TerminalRolloutView implements RolloutView {
  private readonly live: LiveView
  private readonly events: string[] = []
  private last: Progress[] = []
  private elapsedMs = 0

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.live = new LiveView(out)
  }

  event(event: LaunchoEvent): void {
    this.events.push(eventLine(event))
    if (this.events.length > SHOWN_EVENTS) this.events.shift()
    this.draw()
  }

  progress(progress: Progress[], elapsedMs: number): void {
    this.last = progress
    this.elapsedMs = elapsedMs
    this.draw()
  }

  /** The final frame, without the "waiting" line. */
  finish(): void {
    this.draw(true)
    this.live.done()
  }

  private draw(final = false): void {
    const name = Math.max(7, ...this.last.map((one) => one.process.length))
    const change = Math.max(...this.last.map((one) => versions(one).length), 0)
    const lines = this.last.map((one) => {
      const phase = one.outcome === 'failed' ? `failed: ${one.reason}` : one.phase
      return `${one.process.padEnd(name)}  ${versions(one).padEnd(change)}  ${phase.padEnd(9)}${one.detail ? `  ${one.detail}` : ''}`
    })
    if (this.events.length > 0) lines.push('', ...this.events.map((line) => `  ${line}`))
    if (!final) lines.push('', `waiting ${Math.round(this.elapsedMs / 1000)}s; Ctrl-C stops waiting, not the rollout`)
    this.live.render(lines)
  }
}

export class LineRolloutView implements RolloutView {
  private readonly told = new Set<string>()

  constructor(private readonly write: (line: string) => void) {}

  event(event: LaunchoEvent): void {
    this.write(eventLine(event))
  }

  progress(progress: Progress[]): void {
    for (const one of progress) {
      if (one.outcome === undefined || this.told.has(one.process)) continue
      this.told.add(one.process)
      this.write(outcomeLine(one))
    }
  }
}

export const silentView: RolloutView = {event() {}, progress() {}}
