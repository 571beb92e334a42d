/**
 * `GET /v1/status`: every process with its instances, the server's own facts and recent events.
 * The daemon builds it (src/reconcile/status.ts); `launcho status`, the deploy follower and the
 * tests read it through these types.
 */
import {z} from 'zod'
import {launchoEventSchema} from './events.js'
import {releaseStatusSchema} from './releases.js'

export const PROCESS_STATES = ['running', 'starting', 'failing-to-start', 'crash-looping', 'stopping', 'pending', 'rolling-out', 'rollout-failed', 'stopped'] as const
export const processStateSchema = z.enum(PROCESS_STATES)
export type ProcessState = z.infer<typeof processStateSchema>

/** An instance's health: starting | healthy | unhealthy | failed (never healthy within its start-up deadline). */
export type Health = 'starting' | 'healthy' | 'unhealthy' | 'failed'
/** Whether the load balancer sends an instance new connections: in | draining | out. */
export type Traffic = 'in' | 'draining' | 'out'

export const instanceStatusSchema = z.object({
  unit: z.string(),
  version: z.string(),
  /** Of the process's desired version (false: an old one, draining or stopping). */
  current: z.boolean(),
  activeState: z.string(),
  subState: z.string(),
  pid: z.number().int(),
  restarts: z.number().int(),
  /** ISO time the running main process started. */
  startedAt: z.string().optional(),
  uptimeSeconds: z.number().optional(),
  /** A Health (no check: healthy once active); a string, so that a newer server's words still read. */
  health: z.string(),
  /** A Traffic. */
  traffic: z.string(),
  /** An instance's phase: starting | checking | serving | draining | stopping | gone | failed (absent from older servers). */
  phase: z.string().optional(),
  /** Its replica index, 0 to replicas - 1 (absent from older servers). */
  replica: z.number().int().optional(),
  ports: z.record(z.string(), z.number().int()),
  lastCheck: z.object({ok: z.boolean(), detail: z.string(), at: z.string()}).optional(),
  /** systemd lists the unit but reading it failed just now; the other fields are from the last read. */
  readError: z.string().optional(),
  /** What systemd accounts for a running instance: its cgroup's memory now, the CPU time used, tasks now. */
  memoryBytes: z.number().int().optional(),
  cpuSeconds: z.number().optional(),
  tasks: z.number().int().optional(),
})
export type InstanceStatus = z.infer<typeof instanceStatusSchema>

/** systemd-analyze security's exposure of a process's unit as launcho creates it (0.0 confined – 10.0 exposed). */
export const exposureSchema = z.object({
  score: z.number(),
  /** OK | MEDIUM | EXPOSED | UNSAFE */
  rating: z.string(),
  /** The settings that cost most, highest first. */
  costs: z.array(z.object({setting: z.string(), description: z.string(), exposure: z.number()})).optional(),
})
export type ExposureSummary = z.infer<typeof exposureSchema>

export const processStatusSchema = z.object({
  name: z.string(),
  /** The desired version; absent for a process leaving the target. */
  version: z.string().optional(),
  /** How many replicas are desired (absent for a process leaving the target, and from older servers). */
  replicas: z.number().int().optional(),
  state: processStateSchema,
  instances: z.array(instanceStatusSchema),
  retryAt: z.string().optional(),
  retryDelayMs: z.number().optional(),
  lastFailure: z.object({at: z.string(), unit: z.string(), reason: z.string()}).optional(),
  /** `output`: a failed beforeRollout hook's last lines. */
  rolloutFailure: z.object({at: z.string(), version: z.string(), reason: z.string(), output: z.array(z.string()).optional()}).optional(),
  /** Its desired version's sandbox preset and exposure (absent until measured, and from older servers). */
  sandbox: z.string().optional(),
  exposure: exposureSchema.optional(),
  /** Why the process cannot run until the target (or a secret) changes; launcho does not retry it. */
  problem: z.string().optional(),
})
export type ProcessStatus = z.infer<typeof processStatusSchema>

export const serverFactsSchema = z.object({
  version: z.string(),
  bus: z.string(),
  lb: z.string().optional(),
  targetProblem: z.string().optional(),
  /** The newest event's sequence number when the report was made: a follower shows every event up to it before it ends. */
  eventSeq: z.number().int().nonnegative().optional(),
})

export const statusReportSchema = z.object({
  server: serverFactsSchema,
  processes: z.array(processStatusSchema),
  /** Absent before the first release (and from older servers). */
  release: releaseStatusSchema.optional(),
  events: z.array(launchoEventSchema),
})
export type StatusReport = z.infer<typeof statusReportSchema>

export interface StatusQuery {
  /** How many recent events to include (0–500, default 20). */
  events?: number
  /** 0: leave out each instance's memory, CPU and tasks (three reads per instance at the server). */
  usage?: 0 | 1
  /** 0: leave out each exposure's `costs` (what the table does not show; more than half the answer at 1000 processes). */
  costs?: 0 | 1
}
