/**
 * The transient unit that runs one exec health check beside its instance, as that instance runs:
 * same user, group, working directory, env file, ports and memory limit, in launcho.slice, with the
 * argv passed as is. A oneshot service: its start job ends when the check has exited and whatever
 * it left running was killed (the whole cgroup), and it is stopped with its instance (PartOf).
 *
 * Named `launcho.check-<process>-<version>-<8 hex>.service`: the dot after `launcho` can never
 * match an instance's name (UNIT_PATTERN, parseUnitName), so listings, sweeps and change signals
 * of instances never see a check, whatever its process is called.
 */
import {randomBytes} from 'node:crypto'
import dbus from 'dbus-next'
import {SLICE, UNIT_PREFIX} from './unit-name.js'
import {credentialProperties, execCommand, usec, type DbusProperties} from './unit-spec.js'
import {sandboxProperties, type SandboxSpec} from './sandbox-presets.js'
import {accountingProperties, limitProperties, type RawProperty, type UnitLimits} from './unit-limits.js'

const {Variant} = dbus

export const CHECK_UNIT_PREFIX = 'launcho.check-'
export const CHECK_UNIT_PATTERN = `${CHECK_UNIT_PREFIX}*.service`

/** Leftovers get SIGTERM when the check ends, SIGKILL this long after. */
export const CHECK_STOP_MS = 500
/** systemd logs each run at info level ("Starting…", "Deactivated successfully"): keep notice and up (failures). */
const LOG_NOTICE = 5

export interface CheckUnitSpec {
  name: string
  /** The instance unit: the check is stopped when it stops. */
  instance: string
  command: string[]
  user?: string
  group?: string
  workingDirectory: string
  environmentFile: string
  /** Public environment (the ports). */
  env: Record<string, string>
  memoryMaxBytes?: bigint
  /** Its instance's sandbox and credentials: a check runs under the same confinement. */
  sandbox?: SandboxSpec
  credentials?: Record<string, string>
  /** The instance's limits and `systemd:` properties. */
  limits?: UnitLimits
  extra?: RawProperty[]
  /** The check's whole run; past it systemd kills it. */
  timeoutMs: number
  /** Root-only files for its stdout and stderr (systemd opens them before dropping privileges). */
  stdoutFile: string
  stderrFile: string
}

/** A fresh name for one run of a check of `instance` (`launcho-web-3f9a1c2e.service`). */
export function checkUnitNameOf(instance: string): string {
  const stem = instance.replace(/\.service$/, '').slice(instance.startsWith(UNIT_PREFIX) ? UNIT_PREFIX.length : 0)
  return `${CHECK_UNIT_PREFIX}${stem}-${randomBytes(4).toString('hex')}.service`
}

export function toCheckProperties(spec: CheckUnitSpec): DbusProperties {
  const properties: DbusProperties = [
    ['Description', new Variant('s', `launcho health check of ${spec.instance}`)],
    ['Slice', new Variant('s', SLICE)],
    ['Type', new Variant('s', 'oneshot')],
    ['ExecStartEx', execCommand(spec.command)],
    ['PartOf', new Variant('as', [spec.instance])],
    ['WorkingDirectory', new Variant('s', spec.workingDirectory)],
    ['EnvironmentFiles', new Variant('a(sb)', [[spec.environmentFile, false]])],
    ['Environment', new Variant('as', Object.entries(spec.env).map(([key, value]) => `${key}=${value}`))],
    ['StandardOutputFile', new Variant('s', spec.stdoutFile)],
    ['StandardErrorFile', new Variant('s', spec.stderrFile)],
    ['TimeoutStartUSec', new Variant('t', usec(spec.timeoutMs))],
    ['TimeoutStopUSec', new Variant('t', usec(CHECK_STOP_MS))],
    ['KillMode', new Variant('s', 'control-group')],
    ['LogLevelMax', new Variant('i', LOG_NOTICE)],
  ]
  if (spec.user !== undefined) properties.push(['User', new Variant('s', spec.user)])
  if (spec.group !== undefined) properties.push(['Group', new Variant('s', spec.group)])
  if (spec.memoryMaxBytes !== undefined) {
    properties.push(['MemoryMax', new Variant('t', spec.memoryMaxBytes)], ['MemorySwapMax', new Variant('t', 0n)])
  }
  properties.push(...sandboxProperties(spec.sandbox), ...credentialProperties(spec.credentials))
  properties.push(...accountingProperties(), ...limitProperties(spec.limits, spec.extra))
  return properties
}
