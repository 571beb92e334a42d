/**
 * Releases as the API shows them: every change that changed what runs has a number, what it was
 * made of and how its rollout ended. Secret values never cross the wire: only their names.
 */
import {z} from 'zod'

/** What made the release: `t set`/`t edit`, `secret set/rm`, `restart`, `rollback`, `stop`, `start`. */
export const RELEASE_KINDS = ['target-set', 'secret', 'restart', 'rollback', 'stop', 'start'] as const
export const releaseKindSchema = z.enum(RELEASE_KINDS)
export type ReleaseKind = z.infer<typeof releaseKindSchema>

/**
 * How its rollout ended: `rolling-out` until every process it changed serves its new version (or
 * is stopped), then `serving`; `failed` with the reason; `superseded` when a newer release came
 * before it ended.
 */
export const RELEASE_STATES = ['rolling-out', 'serving', 'failed', 'superseded'] as const
export const releaseStateSchema = z.enum(RELEASE_STATES)
export type ReleaseState = z.infer<typeof releaseStateSchema>

export const releaseOutcomeSchema = z.object({
  state: releaseStateSchema,
  /** Why it failed, per process (`web: rollout-failed: not healthy within …`). */
  reason: z.string().optional(),
  /** When it ended (ISO). */
  at: z.string().optional(),
})
export type ReleaseOutcome = z.infer<typeof releaseOutcomeSchema>

export const releaseSummarySchema = z.object({
  number: z.number().int().positive(),
  /** ISO time it was made. */
  time: z.string(),
  kind: releaseKindSchema,
  /** For a rollback: the release it went back to. */
  rollbackOf: z.number().int().positive().optional(),
  /** What it changed, one line each, without secret values: `web: env.APP_VERSION`, `secret DB_URL`. */
  changes: z.array(z.string()),
  outcome: releaseOutcomeSchema,
})
export type ReleaseSummary = z.infer<typeof releaseSummarySchema>

export const releaseDetailSchema = releaseSummarySchema.extend({
  /** The target text exactly as set (placeholders kept). */
  target: z.string(),
  /** The secrets its target used: names only. */
  secrets: z.array(z.string()),
  /** The full id of every resource its processes list. */
  resources: z.array(z.object({process: z.string(), id: z.string()})),
  /** Each process's version. */
  versions: z.record(z.string(), z.string()),
  /** Processes stopped with `launcho stop` at the time. */
  stopped: z.array(z.string()),
})
export type ReleaseDetail = z.infer<typeof releaseDetailSchema>

export const historyResponseSchema = z.object({
  releases: z.array(releaseSummarySchema),
  /** How many the server keeps (its `releases` setting). */
  kept: z.number().int().positive(),
})
export type HistoryResponse = z.infer<typeof historyResponseSchema>

/** In `status`: the newest release, and the newest one that ended serving when that is another. */
export const releaseStatusSchema = z.object({
  current: z.object({number: z.number().int(), kind: releaseKindSchema, outcome: releaseOutcomeSchema}),
  serving: z.number().int().optional(),
})
export type ReleaseStatus = z.infer<typeof releaseStatusSchema>
