/**
 * Resource limits per process (`cpuQuota`, `cpuWeight`, `memoryHigh`, `tasksMax`, `ioWeight`,
 * `limitNOFILE`, `nice`), checked when the target is read with systemd's own ranges, so that a
 * start never fails on them later. They are never substituted (no secret is a limit) and are kept
 * as written: the version hashes them that way, and a target without them keeps its versions.
 */
import {z} from 'zod'
import {describeValue} from './describe-value.js'
import {memorySizeBytes, memorySizeProblem} from './memory-size.js'

export interface ProcessLimits {
  /** CPU time per wall-clock time, e.g. "50%" (half a core) or "150%". */
  cpuQuota?: string
  /** Share of CPU under contention, 1–10000 (systemd's default is 100). */
  cpuWeight?: number
  /** Memory use above which the kernel throttles and reclaims (cgroup v2), at most memoryMax. */
  memoryHigh?: string
  /** Most tasks (processes and threads) at once; "infinity" lifts systemd's DefaultTasksMax. */
  tasksMax?: number | 'infinity'
  /** Share of block I/O under contention, 1–10000. */
  ioWeight?: number
  /** Open files: one number for soft and hard, or "SOFT:HARD". */
  limitNOFILE?: number | string
  /** Scheduling priority, -20 (most favoured) to 19. */
  nice?: number
}

export const LIMIT_KEYS = ['cpuQuota', 'cpuWeight', 'memoryHigh', 'tasksMax', 'ioWeight', 'limitNOFILE', 'nice'] as const

const PERCENT = /^(\d{1,6})(?:\.(\d{1,2}))?%$/
/** 1000 CPUs' worth; systemd's own bound is far beyond any host. */
const MAX_CPU_QUOTA_HUNDREDTHS = 100_000n * 100n
/** The kernel's ceiling for pids (PID_MAX_LIMIT). */
export const MAX_TASKS = 4_194_304
/** The kernel's ceiling for fs.nr_open: no file limit can be higher. */
export const MAX_NOFILE = 1_073_741_816

/** A percentage in hundredths ("12.5%" → 1250n), or undefined when it is not one. */
export function cpuQuotaHundredths(text: string): bigint | undefined {
  const match = PERCENT.exec(text)
  if (!match) return undefined
  return BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'))
}

/** µs of CPU per second of wall-clock time, as systemd's CPUQuotaPerSecUSec takes it. */
export const cpuQuotaUsecPerSec = (text: string): bigint => cpuQuotaHundredths(text)! * 100n

export interface FileLimit {
  soft: number
  hard: number
}

export function fileLimitOf(value: number | string): FileLimit {
  if (typeof value === 'number') return {soft: value, hard: value}
  const [soft, hard] = value.split(':').map(Number)
  return hard === undefined ? {soft: soft!, hard: soft!} : {soft: soft!, hard}
}

const whole = (what: string, min: number, max: number, extra = '') => {
  const message = `${what} must be a whole number from ${min} to ${max}${extra}`
  return z
    .number({error: (issue) => `${message} (got ${describeValue(issue.input)})`})
    .int({error: message})
    .min(min, {error: message})
    .max(max, {error: message})
}

const problemCheck =
  (problem: (value: string) => string | undefined) =>
  (value: string, ctx: z.core.$RefinementCtx<string>) => {
    const message = problem(value)
    if (message) ctx.addIssue({code: 'custom', message})
  }

function cpuQuotaProblem(value: string): string | undefined {
  const rule = 'cpuQuota must be a percentage of one CPU like "50%" (half a core) or "150%", with at most two decimals'
  const hundredths = cpuQuotaHundredths(value)
  if (hundredths === undefined) return /^\d+(\.\d+)?$/.test(value) ? `${rule}: write "${value}%"` : rule
  if (hundredths < 1n) return 'cpuQuota must be more than 0%: leave it out for no limit'
  if (hundredths > MAX_CPU_QUOTA_HUNDREDTHS) return 'cpuQuota must be at most 100000% (1000 CPUs); leave it out for no limit'
  return undefined
}

function fileLimitProblem(value: string): string | undefined {
  const rule = `limitNOFILE must be a number of open files from 1 to ${MAX_NOFILE}, or "SOFT:HARD" like "1024:524288"`
  const parts = value.split(':')
  if (parts.length > 2 || !parts.every((part) => /^\d{1,10}$/.test(part))) return rule
  const [soft, hard] = parts.map(Number) as [number, number | undefined]
  if (soft < 1 || soft > MAX_NOFILE || (hard !== undefined && (hard < 1 || hard > MAX_NOFILE))) return rule
  if (hard !== undefined && soft > hard) return `limitNOFILE's soft limit (${soft}) must not be above its hard limit (${hard})`
  return undefined
}

export const limitsShape = {
  cpuQuota: z
    .string({error: (issue) => `cpuQuota must be a percentage like "50%" (got ${describeValue(issue.input)})`})
    .superRefine(problemCheck(cpuQuotaProblem))
    .optional(),
  cpuWeight: whole('cpuWeight', 1, 10_000, ' (systemd\'s default is 100)').optional(),
  memoryHigh: z
    .union([z.string(), z.number()], {error: (issue) => `memoryHigh must be a size like "256M" (got ${describeValue(issue.input)})`})
    .transform(String)
    .superRefine(problemCheck((value) => memorySizeProblem(value, 'memoryHigh')))
    .optional(),
  tasksMax: z
    .union([z.literal('infinity'), whole('tasksMax', 1, MAX_TASKS)], {
      error: (issue) => `tasksMax must be a whole number from 1 to ${MAX_TASKS}, or "infinity" (got ${describeValue(issue.input)})`,
    })
    .optional(),
  ioWeight: whole('ioWeight', 1, 10_000, ' (systemd\'s default is 100)').optional(),
  limitNOFILE: z
    .union([z.number(), z.string()], {error: (issue) => `limitNOFILE must be a number or "SOFT:HARD" (got ${describeValue(issue.input)})`})
    .superRefine((value, ctx) => {
      const message = fileLimitProblem(String(value))
      if (message) ctx.addIssue({code: 'custom', message})
    })
    .optional(),
  nice: whole('nice', -20, 19).optional(),
}

/** Checks between fields: memoryHigh throttles below memoryMax, never above it. */
export function limitIssues(process: {memoryMax?: string; memoryHigh?: string}): Array<{path: string[]; message: string}> {
  const {memoryMax, memoryHigh} = process
  if (memoryMax === undefined || memoryHigh === undefined) return []
  const max = memorySizeBytes(memoryMax)
  const high = memorySizeBytes(memoryHigh)
  if (max === undefined || high === undefined || high <= max) return []
  return [{path: ['memoryHigh'], message: `memoryHigh (${memoryHigh}) must not be above memoryMax (${memoryMax}): the process would be killed before it is throttled`}]
}

/** The limits written in `process`, only those (for the ProcessSpec and the version). */
export function limitsOf(process: ProcessLimits): ProcessLimits {
  const limits: Record<string, unknown> = {}
  for (const key of LIMIT_KEYS) if (process[key] !== undefined) limits[key] = process[key]
  return limits as ProcessLimits
}
