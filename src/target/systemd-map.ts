/**
 * The `systemd:` escape hatch: unit properties launcho has no field for, by their unit-file names
 * (`LimitCORE: infinity`, `OOMScoreAdjust: 500`), from an allow-list that knows each one's D-Bus
 * property and signature and checks its value when the target is read. What launcho sets itself is
 * refused with the field to use instead; anything else is refused naming the supported ones.
 * Values are kept as written (the version hashes them so) and never substituted.
 */
import {constants} from 'node:os'
import {z} from 'zod'
import {parseDuration} from '../health/policy.js'
import {describeValue} from './describe-value.js'
import {memorySizeBytes} from './memory-size.js'

export type SystemdValue = string | number | boolean
export type SystemdMap = Record<string, SystemdValue>

/** One D-Bus property as StartTransientUnit takes it (see src/systemd/unit-spec.ts). */
export interface ExtraProperty {
  property: string
  signature: 't' | 'i' | 'u' | 'b' | 's'
  value: bigint | number | boolean | string
}

type Parsed = {properties: ExtraProperty[]} | {problem: string}
interface Entry {
  /** What the value must look like, for messages. */
  expects: string
  parse(value: SystemdValue): Parsed | undefined
}

const UINT64_MAX = 2n ** 64n - 1n

const ok = (...properties: ExtraProperty[]): Parsed => ({properties})

/** `LimitX: 1024 | infinity | "SOFT:HARD"`: sent as LimitX (hard) and LimitXSoft, as a unit file's LimitX= does. */
function rlimit(name: string): Entry {
  const one = (text: string): bigint | undefined => (text === 'infinity' ? UINT64_MAX : /^\d{1,19}$/.test(text) ? BigInt(text) : undefined)
  return {
    expects: 'a number, "infinity", or "SOFT:HARD"',
    parse(value) {
      if (typeof value === 'boolean') return undefined
      const parts = String(value).split(':')
      if (parts.length > 2) return undefined
      const [soft, hard = soft] = parts.map(one)
      if (soft === undefined || hard === undefined) return undefined
      if (soft > hard) return {problem: `${name}'s soft limit must not be above its hard limit`}
      return ok({property: name, signature: 't', value: hard}, {property: `${name}Soft`, signature: 't', value: soft})
    },
  }
}

function integer(property: string, min: number, max: number): Entry {
  return {
    expects: `a whole number from ${min} to ${max}`,
    parse: (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? ok({property, signature: 'i', value}) : undefined,
  }
}

function oneOf(property: string, names: Record<string, number | string>): Entry {
  return {
    expects: `one of ${Object.keys(names).join(', ')}`,
    parse(value) {
      if (typeof value !== 'string' || !Object.hasOwn(names, value)) return undefined
      const mapped = names[value]!
      return ok(typeof mapped === 'number' ? {property, signature: 'i', value: mapped} : {property, signature: 's', value: mapped})
    },
  }
}

function bool(property: string): Entry {
  return {expects: 'true or false', parse: (value) => (typeof value === 'boolean' ? ok({property, signature: 'b', value}) : undefined)}
}

/** A duration ("500ms", "30s", "5m", "1h") as the µs (or ns) of a `t` property. */
function duration(property: string, perMs: bigint): Entry {
  return {
    expects: 'a duration like "500ms", "30s" or "5m"',
    parse(value) {
      if (typeof value !== 'string') return undefined
      const ms = parseDuration(value)
      return ms === undefined ? undefined : ok({property, signature: 't', value: BigInt(ms) * perMs})
    },
  }
}

function size(property: string): Entry {
  return {
    expects: 'a size like "256M"',
    parse(value) {
      const bytes = typeof value === 'string' ? memorySizeBytes(value) : undefined
      return bytes === undefined ? undefined : ok({property, signature: 't', value: bytes})
    },
  }
}

function count(property: string, signature: 't' | 'u', max: number): Entry {
  return {
    expects: `a whole number from 0 to ${max}`,
    parse: (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
        ? ok({property, signature, value: signature === 't' ? BigInt(value) : value})
        : undefined,
  }
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGKILL'] as const

export const SUPPORTED: Record<string, Entry> = {
  LimitCORE: rlimit('LimitCORE'),
  LimitFSIZE: rlimit('LimitFSIZE'),
  LimitDATA: rlimit('LimitDATA'),
  LimitSTACK: rlimit('LimitSTACK'),
  LimitRSS: rlimit('LimitRSS'),
  LimitAS: rlimit('LimitAS'),
  LimitNPROC: rlimit('LimitNPROC'),
  LimitMEMLOCK: rlimit('LimitMEMLOCK'),
  LimitLOCKS: rlimit('LimitLOCKS'),
  LimitSIGPENDING: rlimit('LimitSIGPENDING'),
  LimitMSGQUEUE: rlimit('LimitMSGQUEUE'),
  LimitRTPRIO: rlimit('LimitRTPRIO'),
  OOMScoreAdjust: integer('OOMScoreAdjust', -1000, 1000),
  OOMPolicy: oneOf('OOMPolicy', {continue: 'continue', stop: 'stop', kill: 'kill'}),
  CPUSchedulingPolicy: oneOf('CPUSchedulingPolicy', {other: 0, fifo: 1, rr: 2, batch: 3, idle: 5}),
  CPUSchedulingPriority: integer('CPUSchedulingPriority', 1, 99),
  CPUSchedulingResetOnFork: bool('CPUSchedulingResetOnFork'),
  IOSchedulingClass: oneOf('IOSchedulingClass', {realtime: 1, 'best-effort': 2, idle: 3}),
  IOSchedulingPriority: integer('IOSchedulingPriority', 0, 7),
  CPUQuotaPeriodSec: duration('CPUQuotaPeriodUSec', 1000n),
  RuntimeMaxSec: duration('RuntimeMaxUSec', 1000n),
  TimerSlackNSec: duration('TimerSlackNSec', 1_000_000n),
  MemoryLow: size('MemoryLow'),
  MemoryMin: size('MemoryMin'),
  KillSignal: oneOf('KillSignal', Object.fromEntries(SIGNALS.map((name) => [name, constants.signals[name]]))),
  SendSIGHUP: bool('SendSIGHUP'),
  IgnoreSIGPIPE: bool('IgnoreSIGPIPE'),
  LogRateLimitIntervalSec: duration('LogRateLimitIntervalUSec', 1000n),
  LogRateLimitBurst: count('LogRateLimitBurst', 'u', 1_000_000),
  LogLevelMax: oneOf('LogLevelMax', {emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7}),
  UMask: {
    expects: 'an octal mode like "0027"',
    parse: (value) => (typeof value === 'string' && /^0?[0-7]{3}$/.test(value) ? ok({property: 'UMask', signature: 'u', value: Number.parseInt(value, 8)}) : undefined),
  },
}

/** Properties launcho sets itself: the field that sets each (or why it cannot be changed). */
const OWNED: Record<string, string> = {
  ExecStart: 'use command',
  ExecStartPre: 'use before',
  User: 'use uid',
  Group: 'use gid',
  WorkingDirectory: 'use cwd',
  Environment: 'use env',
  EnvironmentFile: 'use env (launcho writes the env file)',
  MemoryMax: 'use memoryMax',
  MemorySwapMax: 'launcho turns swap off with memoryMax',
  MemoryHigh: 'use memoryHigh',
  CPUQuota: 'use cpuQuota',
  CPUWeight: 'use cpuWeight',
  TasksMax: 'use tasksMax',
  IOWeight: 'use ioWeight',
  LimitNOFILE: 'use limitNOFILE',
  Nice: 'use nice',
  Restart: 'launcho restarts crashed processes with its own back-off',
  RestartSec: 'launcho restarts crashed processes with its own back-off',
  StartLimitIntervalSec: 'launcho restarts crashed processes with its own back-off',
  StartLimitBurst: 'launcho restarts crashed processes with its own back-off',
  TimeoutStopSec: "set the server's stopTimeoutSeconds (launcho waits for stops that long)",
  TimeoutStartSec: 'launcho sets it from the server configuration',
  TimeoutSec: "set the server's stopTimeoutSeconds (launcho waits for stops that long)",
  Type: 'launcho starts every process as Type=exec',
  KillMode: 'launcho stops every process with KillMode=mixed (SIGTERM to the main process, then SIGKILL to all)',
  Slice: 'launcho runs every process in launcho.slice',
  Description: 'launcho names its units itself',
  SyslogIdentifier: 'launcho logs every line under the process name',
  StandardOutput: 'launcho sends output to the journal (launcho logs)',
  StandardError: 'launcho sends output to the journal (launcho logs)',
  LogExtraFields: 'launcho tags every journal line with the process and version',
  CollectMode: 'launcho collects failed units itself',
  CPUAccounting: 'launcho turns accounting on for every unit',
  MemoryAccounting: 'launcho turns accounting on for every unit',
  TasksAccounting: 'launcho turns accounting on for every unit',
  IOAccounting: 'launcho turns accounting on for every unit',
  ...Object.fromEntries(
    ['NoNewPrivileges', 'PrivateTmp', 'ProtectSystem', 'ProtectHome', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectHostname', 'ProtectClock', 'RestrictSUIDSGID', 'LockPersonality', 'RestrictRealtime', 'PrivateDevices', 'PrivateMounts', 'ProtectProc', 'RestrictAddressFamilies', 'RestrictNamespaces', 'SystemCallFilter', 'SystemCallErrorNumber', 'SystemCallArchitectures', 'CapabilityBoundingSet', 'RemoveIPC', 'BindPaths'].map((name) => [name, 'use sandbox: basic or strict (each preset\'s properties are in the README)']),
  ),
  MemoryDenyWriteExecute: 'use memoryDenyWriteExecute',
  DynamicUser: 'use dynamicUser',
  StateDirectory: 'launcho gives a dynamicUser process its StateDirectory as working directory',
  LoadCredential: 'use credentials',
  SetCredential: 'use credentials (a SetCredential value is readable by every local user)',
}

/** The D-Bus properties of a checked map, in the order written. */
export function extraPropertiesOf(map: SystemdMap | undefined): ExtraProperty[] {
  if (!map) return []
  return Object.entries(map).flatMap(([name, value]) => {
    const parsed = SUPPORTED[name]?.parse(value)
    if (!parsed || 'problem' in parsed) throw new Error(`systemd.${name} was not checked`)
    return parsed.properties
  })
}

function keyProblem(name: string): string | undefined {
  if (Object.hasOwn(SUPPORTED, name)) return undefined
  const owned = Object.hasOwn(OWNED, name) ? OWNED[name] : undefined
  if (owned) return `systemd.${name} is set by launcho: ${owned}`
  return `systemd.${name} is not supported; launcho supports ${Object.keys(SUPPORTED).join(', ')}`
}

export const systemdMapSchema = z
  .record(
    z.string().superRefine((name, ctx) => {
      const message = keyProblem(name)
      if (message) ctx.addIssue({code: 'custom', message})
    }),
    z.union([z.string(), z.number(), z.boolean()], {error: (issue) => `systemd values are strings, numbers or booleans (got ${describeValue(issue.input)})`}),
    {error: (issue) => `systemd must be a map of unit properties, e.g. {LimitCORE: infinity} (got ${describeValue(issue.input)})`},
  )
  .superRefine((map, ctx) => {
    for (const [name, value] of Object.entries(map)) {
      const entry = Object.hasOwn(SUPPORTED, name) ? SUPPORTED[name] : undefined
      if (!entry) continue
      const parsed = entry.parse(value)
      if (parsed && !('problem' in parsed)) continue
      const message = parsed?.problem ?? `systemd.${name} must be ${entry.expects} (got ${describeValue(value)})`
      ctx.addIssue({code: 'custom', path: [name], message})
    }
  })
