/**
 * The per-process `health` options: their defaults, the zod pieces the target schema uses for them,
 * and the translation of a process's health block plus its instance's ports into a HealthCheck.
 */
import {z} from 'zod'
import {LaunchoError} from '../errors.js'
import {portVariable} from '../lb/ports.js'
import {argvOfResolved, renderArgv, type ArgvWord} from '../target/argv-ports.js'
import type {HealthSpec} from '../target/schema.js'
import type {RawProperty, UnitLimits} from '../systemd/unit-limits.js'
import type {HealthCheck} from './check.js'
import type {SandboxSpec} from '../systemd/sandbox-presets.js'

export type HealthKind = 'http' | 'tcp' | 'exec'

/** What the monitor needs besides the check itself. */
export interface HealthPolicy {
  intervalMs: number
  failureThreshold: number
  successThreshold: number
  startupDeadlineMs: number
}

/** Defaults for one host, where a check is a local round trip of well under a millisecond. */
export const HEALTH_DEFAULTS = {
  /** 1 s (kamal-proxy's): a local request a second costs nothing; a new instance joins ≤ 1 s after it is ready. */
  intervalMs: 1000,
  /** 2 s: a GC pause or busy event loop is not called dead (k8s's 1 s flaps); a hung instance is out in 6 s. */
  timeoutMs: 2000,
  /** 3 (k8s's): one slow answer never flips an instance; a broken one leaves the balancer in about 3 s. */
  failureThreshold: 3,
  /** 1 (k8s's): the first good answer counts, so recoveries and rollouts are not held back. */
  successThreshold: 1,
  /** 60 s: room for slow starters (JVM, migrations) beyond kamal's 30 s; a bad rollout is known in a minute. */
  startupDeadlineMs: 60_000,
} as const

const msOf = (duration: string | undefined) => (duration === undefined ? undefined : parseDuration(duration))

export function resolvePolicy(spec: HealthSpec | undefined): HealthPolicy {
  return {
    intervalMs: msOf(spec?.interval) ?? HEALTH_DEFAULTS.intervalMs,
    failureThreshold: spec?.failureThreshold ?? HEALTH_DEFAULTS.failureThreshold,
    successThreshold: spec?.successThreshold ?? HEALTH_DEFAULTS.successThreshold,
    startupDeadlineMs: msOf(spec?.startupDeadline) ?? HEALTH_DEFAULTS.startupDeadlineMs,
  }
}

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** `"500ms"`, `"2s"`, `"1.5m"`, `"1h"`, or a number of seconds (`2`, `"0.5"`) → milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim())
  return match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']) : undefined
}

/** The canonical spelling: the largest unit that divides exactly (`90000` → `"90s"`). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

const got = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'a list' : String(value)

/**
 * A duration, kept in its canonical spelling: the target is parsed again after secrets are
 * substituted, so what this produces must read back as itself; and "1000ms" and "1s" are one version.
 */
function duration(what: string, minMs: number, maxMs: number) {
  const expected = `${what} must be a duration like "500ms", "2s" or "1m", or a number of seconds`
  const range = `${what} must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`
  return z
    .union([z.string(), z.number()], {error: (issue) => `${expected} (got ${got(issue.input)})`})
    .transform((value, ctx) => {
      const ms = parseDuration(value)
      if (ms === undefined) ctx.addIssue({code: 'custom', message: `${expected} (got ${got(value)})`})
      else if (ms < minMs || ms > maxMs) ctx.addIssue({code: 'custom', message: range})
      return formatDuration(ms ?? 0)
    })
}

function threshold(what: string) {
  const message = `${what} must be a whole number from 1 to 100`
  return z.number({error: message}).int({error: message}).min(1, {error: message}).max(100, {error: message})
}

/** The `health` keys that never hold placeholders; the target schema adds `service`, `path` and `command`. */
export const healthTuningShape = {
  kind: z.enum(['http', 'tcp', 'exec'], {error: 'health.kind must be "http", "tcp" or "exec"'}).optional(),
  interval: duration('health.interval', 100, 3_600_000).optional(),
  timeout: duration('health.timeout', 10, 300_000).optional(),
  failureThreshold: threshold('health.failureThreshold').optional(),
  successThreshold: threshold('health.successThreshold').optional(),
  startupDeadline: duration('health.startupDeadline', 1000, 86_400_000).optional(),
}

/** Written `kind`, else http with a path, exec with a command, tcp with only a service. */
export function kindOf(health: Pick<HealthSpec, 'kind' | 'service' | 'path' | 'command'>): HealthKind | undefined {
  if (health.kind) return health.kind
  if (health.command) return 'exec'
  if (health.path !== undefined) return 'http'
  return health.service !== undefined ? 'tcp' : undefined
}

/** Combinations the per-key checks cannot see, each pointing at the key to fix (or the block). */
export function healthBlockIssues(health: HealthSpec): Array<{path: string[]; message: string}> {
  const kind = kindOf(health)
  if (!kind) {
    const message = 'health needs service and path (an http check), service alone (tcp) or command (exec)'
    return [{path: [], message}]
  }
  const issues: Array<{path: string[]; message: string}> = []
  const need = (key: keyof HealthSpec, example: string) => {
    const message = `health.${key} is required for ${kind} checks, e.g. ${example}`
    if (health[key] === undefined) issues.push({path: [], message})
  }
  const refuse = (key: keyof HealthSpec, why: string) => {
    if (health[key] !== undefined) issues.push({path: [key], message: `health.${key} ${why} (this check is ${kind})`})
  }
  if (kind !== 'exec') need('service', '"web"')
  if (kind === 'http') need('path', '"/health"')
  if (kind === 'exec') need('command', '["/usr/local/bin/check"]')
  if (kind !== 'http') refuse('path', 'is only for http checks')
  if (kind !== 'exec') refuse('command', 'is only for exec checks')
  if (kind === 'exec') refuse('service', 'is only for http and tcp checks; exec checks get SERVICE_PORT_* variables')
  return issues
}

/** The parsed block as the target keeps it: only the keys written. */
export function healthSpecOf(health: HealthSpec): HealthSpec {
  return Object.fromEntries(Object.entries(health).filter(([, value]) => value !== undefined))
}

/** Who an exec check runs as and where: the process's own uid, gid, cwd, env and limits. */
export interface CheckContext {
  uid?: string
  gid?: string
  /** The instance's working directory (its `cwd`, else its fresh work dir). */
  cwd?: string
  /** The target's env, secrets substituted (for a runner that passes it itself). */
  env?: Record<string, string>
  /** The instance unit that the check belongs to. */
  unit?: string
  /** The instance's private env file (what systemd gives the instance, secrets included). */
  environmentFile?: string
  memoryMax?: string
  /** The instance's sandbox and credential files: its checks run under the same. */
  sandbox?: SandboxSpec
  credentials?: Record<string, string>
  limits?: UnitLimits
  extra?: RawProperty[]
  /** `health.command` with secrets substituted and `SERVICE_PORT_*` references marked. */
  command?: ArgvWord[]
}

/**
 * The check for one instance, or undefined for a process without `health` (the caller counts such
 * an instance healthy once its unit is active). `ports` are the instance's allocated ports.
 */
export function healthCheckFor(
  health: HealthSpec | undefined,
  ports: Record<string, number>,
  context: CheckContext = {},
): HealthCheck | undefined {
  if (!health) return undefined
  const timeoutMs = msOf(health.timeout) ?? HEALTH_DEFAULTS.timeoutMs
  const kind = kindOf(health)
  if (kind === 'exec' && health.command) {
    const portEnv = Object.fromEntries(Object.entries(ports).map(([service, port]) => [portVariable(service), String(port)]))
    const {unit, environmentFile} = context
    return {
      kind,
      command: renderArgv(context.command ?? argvOfResolved(health.command), portEnv),
      timeoutMs,
      env: {...context.env, ...portEnv},
      ...(context.cwd === undefined ? {} : {cwd: context.cwd}),
      ...(context.uid === undefined ? {} : {user: context.uid}),
      ...(context.gid === undefined ? {} : {group: context.gid}),
      ...(unit !== undefined && environmentFile !== undefined
        ? {
            instance: {
              unit,
              environmentFile,
              portEnv,
              ...(context.memoryMax === undefined ? {} : {memoryMax: context.memoryMax}),
              ...(context.sandbox === undefined ? {} : {sandbox: context.sandbox}),
              ...(context.credentials === undefined ? {} : {credentials: context.credentials}),
              ...(context.limits === undefined ? {} : {limits: context.limits}),
              ...(context.extra === undefined ? {} : {extra: context.extra}),
            },
          }
        : {}),
    }
  }
  const port = health.service === undefined ? undefined : ports[health.service]
  if (port === undefined) {
    throw new LaunchoError('internal', `no port allocated for health.service ${JSON.stringify(health.service)}`)
  }
  if (kind === 'http' && health.path !== undefined) return {kind, port, path: health.path, timeoutMs}
  if (kind === 'tcp') return {kind, port, timeoutMs}
  throw new LaunchoError('internal', `the health block is incomplete for a ${kind} check`)
}
