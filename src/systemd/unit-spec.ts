/**
 * What launcho asks systemd to run for one instance, and its translation into the D-Bus
 * properties of a transient service (signatures verified against systemd 252). Commands (the
 * hooks included) go as Exec*Ex with systemd's `no-env-expand` flag (a unit file's `:` prefix): systemd would
 * otherwise replace `$VAR`/`${VAR}` from the unit's environment, env file included, before the
 * program (or `sh`, for `before`) ever sees the text, turning env and secret values into code.
 */
import dbus from 'dbus-next'
import {accountingProperties, limitProperties, type RawProperty, type UnitLimits} from './unit-limits.js'
import {SLICE} from './unit-name.js'
import {sandboxProperties, type SandboxSpec} from './sandbox-presets.js'

const {Variant} = dbus

export interface UnitSpec {
  /** e.g. `launcho-web-3f9a1c2e.service` */
  name: string
  description: string
  /** argv, passed as is; argv[0] is resolved by systemd against its PATH when not absolute. */
  command: string[]
  /**
   * Shell script run before the command, as the same user, in the same directory and environment;
   * `sh` expands its variables when it runs, systemd none.
   */
  before?: string
  /**
   * ExecStartPost=: run once the command is exec'd; the unit is `activating` until it ends, and a
   * failure (non-zero exit, signal, timeout) fails the start. argv as given, like `command`.
   */
  afterStart?: string[]
  /** ExecStop=: run when the unit is stopped while it runs, before SIGTERM; $MAINPID in its environment. */
  beforeStop?: string[]
  /** Shown by `systemctl show` to every local user: nothing secret (the ports). */
  env: Record<string, string>
  /** Read by systemd as root when it starts the unit; its variables win over `env`. */
  environmentFile?: string
  user?: string
  group?: string
  workingDirectory: string
  /** The journal's SYSLOG_IDENTIFIER: the process name. */
  syslogIdentifier: string
  /** Extra journal fields on every line, e.g. LAUNCHO_PROCESS, LAUNCHO_VERSION. */
  journalFields: Record<string, string>
  restartDelayMs: number
  /** Limits `beforeStop`, and then SIGTERM before SIGKILL, each on its own. */
  stopTimeoutMs: number
  /** Limits each step of a start on its own: `before`, the exec, `afterStart`. */
  startTimeoutMs: number
  /** Bytes of RAM the unit's cgroup may use; swap is then off for it, so the limit is a hard one. */
  memoryMaxBytes?: bigint
  /** The process's sandbox (sandbox-presets.ts); `before` runs in the same unit, so under it too. */
  sandbox?: SandboxSpec
  /** Credential name → a root-only file systemd copies into $CREDENTIALS_DIRECTORY at start. */
  credentials?: Record<string, string>
  limits?: UnitLimits
  /** From the target's `systemd:` map. */
  extra?: RawProperty[]
}

export type DbusProperties = Array<[string, InstanceType<typeof Variant>]>

export const usec = (ms: number): bigint => BigInt(Math.round(ms * 1000))

/** An ExecStart*Ex value: one command, its argv exactly as given (systemd expands nothing in it). */
export function execCommand(argv: readonly string[]): InstanceType<typeof Variant> {
  return new Variant('a(sasas)', [[argv[0], [...argv], ['no-env-expand']]])
}

/** The `before` script as a command: `sh -e`, the script its `-c` argument. */
export const beforeCommand = (script: string): string[] => ['/bin/sh', '-ec', script]

/**
 * How long a start job of `spec` may take: systemd gives each step its own TimeoutStartSec (the
 * `before` script, the exec, `afterStart`), so with both a start may take three times as long.
 */
export function startJobMs(spec: Pick<UnitSpec, 'startTimeoutMs' | 'before' | 'afterStart'>): number {
  return spec.startTimeoutMs * (1 + (spec.before !== undefined ? 1 : 0) + (spec.afterStart !== undefined ? 1 : 0))
}

/**
 * How long a stop job may take: a `beforeStop` hook gets TimeoutStopSec, and the SIGTERM after it
 * its own before SIGKILL. Callers may not know whether the unit has the hook: they allow for it.
 */
export const stopJobMs = (stopTimeoutMs: number): number => 2 * stopTimeoutMs

/**
 * Exactly what StartTransientUnit receives for `spec` from a server that stamps its units with
 * `stamp` (LAUNCHO_SERVER): `t render` and `export` render this same list.
 */
export function startPropertiesOf(spec: UnitSpec, stamp: Record<string, string>): DbusProperties {
  return toDbusProperties({...spec, journalFields: {...spec.journalFields, ...stamp}})
}

export function toDbusProperties(spec: UnitSpec): DbusProperties {
  const properties: DbusProperties = [
    ['Description', new Variant('s', spec.description)],
    ['Slice', new Variant('s', SLICE)],
    // exec: the start job fails (and says why) when the binary, user or directory is missing.
    ['Type', new Variant('s', 'exec')],
    ['ExecStartEx', execCommand(spec.command)],
    ['Restart', new Variant('s', 'always')],
    ['RestartUSec', new Variant('t', usec(spec.restartDelayMs))],
    // launcho owns the crash-loop policy; systemd's start limit would leave a dead unit behind.
    ['StartLimitIntervalUSec', new Variant('t', 0n)],
    ['WorkingDirectory', new Variant('s', spec.workingDirectory)],
    ['Environment', new Variant('as', Object.entries(spec.env).map(([key, value]) => `${key}=${value}`))],
    ['StandardOutput', new Variant('s', 'journal')],
    ['StandardError', new Variant('s', 'journal')],
    ['SyslogIdentifier', new Variant('s', spec.syslogIdentifier)],
    [
      'LogExtraFields',
      new Variant('aay', Object.entries(spec.journalFields).map(([key, value]) => Buffer.from(`${key}=${value}`))),
    ],
    ['KillMode', new Variant('s', 'mixed')],
    ['TimeoutStopUSec', new Variant('t', usec(spec.stopTimeoutMs))],
    ['TimeoutStartUSec', new Variant('t', usec(spec.startTimeoutMs))],
    // Failed units vanish instead of piling up; launcho records why they failed as it happens.
    ['CollectMode', new Variant('s', 'inactive-or-failed')],
  ]
  if (spec.before !== undefined) {
    properties.push(['ExecStartPreEx', execCommand(beforeCommand(spec.before))])
  }
  if (spec.afterStart !== undefined) properties.push(['ExecStartPostEx', execCommand(spec.afterStart)])
  if (spec.beforeStop !== undefined) properties.push(['ExecStopEx', execCommand(spec.beforeStop)])
  if (spec.environmentFile !== undefined) properties.push(['EnvironmentFiles', new Variant('a(sb)', [[spec.environmentFile, false]])])
  if (spec.user !== undefined) properties.push(['User', new Variant('s', spec.user)])
  if (spec.group !== undefined) properties.push(['Group', new Variant('s', spec.group)])
  if (spec.memoryMaxBytes !== undefined) {
    properties.push(['MemoryMax', new Variant('t', spec.memoryMaxBytes)], ['MemorySwapMax', new Variant('t', 0n)])
  }
  properties.push(...sandboxProperties(spec.sandbox), ...credentialProperties(spec.credentials))
  properties.push(...accountingProperties(), ...limitProperties(spec.limits, spec.extra))
  return properties
}

/**
 * LoadCredential=NAME:PATH: systemd (as root) copies each file into the unit's own credentials
 * directory, readable by the unit's user only. Never SetCredential=: its value is a unit property,
 * which every local user can read over D-Bus and in /run/systemd/transient.
 */
export function credentialProperties(credentials: Record<string, string> | undefined): DbusProperties {
  const entries = Object.entries(credentials ?? {})
  return entries.length === 0 ? [] : [['LoadCredential', new Variant('a(ss)', entries)]]
}
