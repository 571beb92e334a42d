/** `launcho status` as a table that fits the terminal, or as JSON: what the command and its quick path print. */
import type {ReleaseStatus} from '../protocol/releases.js'
import type {StatusReport} from '../protocol/status.js'
import {byteSize, cpuTime, cut, duration, fittedTable, localTime, outputWidth, useColour} from './format.js'
import {outcomeText} from './release-text.js'
import {instanceState, stateColour} from './state-words.js'

/** The text `launcho status` prints for a report (without the final newline). */
export function statusText(report: StatusReport, json: boolean): string {
  return json ? JSON.stringify(report, null, 2) : renderStatus(report, {width: outputWidth(), colour: useColour()})
}

const HEADERS = ['PROCESS', 'VERSION', 'UNIT', 'STATE', 'PID', 'RESTARTS', 'UPTIME', 'MEM', 'CPU', 'TASKS', 'HEALTH', 'TRAFFIC', 'EXPOSURE', 'LAST FAILURE']
const [PROCESS, UNIT, STATE, RESTARTS, UPTIME, MEM, CPU, TASKS, HEALTH, TRAFFIC, EXPOSURE, LAST_FAILURE] = [0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]

/** `release 12 failed: web: …; serving release 11` */
export function releaseLine({current, serving}: ReleaseStatus): string {
  const state = current.outcome.state === 'rolling-out' ? 'rolling out' : outcomeText(current.outcome)
  return `Release ${current.number} ${state}${serving !== undefined && serving !== current.number ? `; serving release ${serving}` : ''}`
}

export function renderStatus(report: StatusReport, view: {width?: number; colour?: boolean} = {}): string {
  const rows: string[][] = []
  const notes: string[] = []
  for (const process of report.processes) {
    const failure = process.lastFailure ? `${localTime(process.lastFailure.at)} ${process.lastFailure.reason}` : '-'
    let state: string = process.state
    if (process.retryAt) state += ` (next start in ${Math.max(0, Math.ceil((Date.parse(process.retryAt) - Date.now()) / 1000))}s)`
    if (process.problem) notes.push(`${process.name} cannot run until the target changes: ${process.problem}`)
    if (process.rolloutFailure) notes.push(`${process.name}: rollout of ${process.rolloutFailure.version} failed: ${process.rolloutFailure.reason}`)
    // systemd-analyze security's score of the desired version's unit, e.g. "1.9 OK".
    const exposure = process.exposure ? `${process.exposure.score.toFixed(1)} ${process.exposure.rating}` : '-'
    if (process.instances.length === 0) {
      rows.push([process.name, process.version ?? '-', '-', state, '-', '-', '-', '-', '-', '-', '-', '-', exposure, failure])
      continue
    }
    for (const instance of process.instances) {
      rows.push([
        process.name,
        instance.version + (instance.current ? '' : ' (old)'),
        instance.unit,
        instance.current ? state : instanceState(instance),
        instance.pid ? String(instance.pid) : '-',
        String(instance.restarts),
        duration(instance.uptimeSeconds),
        byteSize(instance.memoryBytes),
        cpuTime(instance.cpuSeconds),
        instance.tasks === undefined ? '-' : String(instance.tasks),
        instance.lastCheck && !instance.lastCheck.ok ? `${instance.health} (${instance.lastCheck.detail})` : instance.health,
        Object.keys(instance.ports).length > 0 ? instance.traffic : '-',
        instance.current ? exposure : '-',
        instance.current ? failure : '-',
      ])
    }
  }
  const out = [`launcho ${report.server.version}${report.server.lb ? `, load balancer: ${report.server.lb}` : ''}`]
  if (report.release) out.push(releaseLine(report.release))
  out.push('')
  if (rows.length === 0) out.push('No processes in the target. Set one with: launcho t set target.yaml')
  else {
    const {text, hidden} = fittedTable(HEADERS, rows, {
      ...(view.width !== undefined ? {width: view.width} : {}),
      // On a narrow terminal: failures move below the table, then the least telling columns go;
      // what is left is cut, the unit name (needed for systemctl) last.
      // systemd's accounting goes right after the failures (`status --json` always has it).
      optional: [LAST_FAILURE, EXPOSURE, TASKS, CPU, MEM, RESTARTS, TRAFFIC, UPTIME],
      shrink: [HEALTH, STATE, PROCESS, UNIT],
      ...(view.colour ? {decorate: (column, text) => (column === STATE || column === HEALTH ? stateColour(text) : text)} : {}),
    })
    out.push(text)
    if (hidden.has(LAST_FAILURE)) {
      for (const process of report.processes) {
        if (!process.lastFailure) continue
        const line = `${process.name}: last failure ${localTime(process.lastFailure.at)} ${process.lastFailure.reason}`
        out.push(view.width !== undefined ? cut(line, view.width) : line)
      }
    }
  }
  for (const note of notes) out.push(`Warning: ${note}`)
  if (report.server.targetProblem) out.push('', `Warning: the stored target cannot be applied: ${report.server.targetProblem}`)
  if (report.events.length > 0) {
    out.push('', 'Events:')
    for (const event of report.events) {
      out.push(`  ${localTime(event.time)}  ${event.kind.padEnd(14)} ${event.process ? `${event.process}: ` : ''}${event.message}${event.repeated ? ` (${event.repeated} times)` : ''}`)
    }
  }
  return out.join('\n')
}
