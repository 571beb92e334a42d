/**
 * The transient unit of a one-off run (`launcho run`, a beforeRollout hook): the very properties an
 * instance of its process starts with (startPropertiesOf), changed where a run differs. It is a
 * oneshot service, so its start job ends when the command has exited (and whatever it left running
 * was killed): JobRemoved `done` is exit 0, and a failed run stays loaded (failed) until its Result
 * and ExecMainCode/ExecMainStatus have been read (oneshot.ts), then it is reset and collected.
 * Restart=no, no ports, its output to the caller's FIFOs (systemd opens them as root before it drops
 * privileges) or to the journal, and its time bounded by TimeoutStartUSec (a oneshot's whole run).
 */
import {randomBytes} from 'node:crypto'
import dbus from 'dbus-next'
import {RUN_UNIT_PREFIX} from './unit-name.js'
import {startPropertiesOf, usec, type DbusProperties, type UnitSpec} from './unit-spec.js'
import {UINT64_MAX} from './unit-limits.js'

const {Variant} = dbus

export {RUN_UNIT_PREFIX}
export const RUN_UNIT_PATTERN = `${RUN_UNIT_PREFIX}*.service`

/** A fresh run unit of `process`: `launcho-run-web-3f9a1c2e.service`. */
export function runUnitNameOf(process: string): string {
  return `${RUN_UNIT_PREFIX}${process}-${randomBytes(4).toString('hex')}.service`
}

/**
 * The beforeRollout hook of `process` for `version`: one name per version, so a server that
 * restarts while it runs finds it again (`launcho-run-web-before-rollout-3f9a1c2e.service`).
 */
export function beforeRolloutUnitNameOf(process: string, version: string): string {
  return `${RUN_UNIT_PREFIX}${process}-before-rollout-${version}.service`
}

export const isBeforeRolloutUnit = (unit: string): boolean => /^launcho-run-[a-z0-9-]+-before-rollout-[0-9a-f]{8}\.service$/.test(unit)

export const isRunUnit = (unit: string): boolean => unit.startsWith(RUN_UNIT_PREFIX) && unit.endsWith('.service')

export interface RunOutput {
  /** FIFOs (or files) systemd opens for the command's stdout and stderr; absent: the journal. */
  stdoutFile?: string
  stderrFile?: string
}

/** Properties an instance has that a run replaces, or leaves out (the per-instance hooks). */
const REPLACED = new Set(['ExecStartPostEx', 'ExecStopEx', 'Type', 'Restart', 'RestartUSec', 'StandardOutput', 'StandardError', 'TimeoutStartUSec', 'CollectMode', 'KillMode'])

export function runPropertiesOf(spec: UnitSpec, stamp: Record<string, string>, run: RunOutput & {timeoutMs?: number}): DbusProperties {
  const properties = startPropertiesOf(spec, stamp).filter(([name]) => !REPLACED.has(name))
  properties.push(
    ['Type', new Variant('s', 'oneshot')],
    ['Restart', new Variant('s', 'no')],
    ['StandardInput', new Variant('s', 'null')],
    ['TimeoutStartUSec', new Variant('t', run.timeoutMs === undefined ? UINT64_MAX : usec(run.timeoutMs))],
    // A stop (Ctrl-C, the client gone, a timeout) ends every process of the run, not only its main one.
    ['KillMode', new Variant('s', 'control-group')],
  )
  if (run.stdoutFile !== undefined) properties.push(['StandardOutputFile', new Variant('s', run.stdoutFile)])
  else properties.push(['StandardOutput', new Variant('s', 'journal')])
  if (run.stderrFile !== undefined) properties.push(['StandardErrorFile', new Variant('s', run.stderrFile)])
  else properties.push(['StandardError', new Variant('s', 'journal')])
  return properties
}
