/** What a target or secret change, or a restart, does to each process: the answer of those routes. */
import {z} from 'zod'
import {exposureSchema} from './status.js'

/**
 * `scale`: same version, another number of replicas (nothing is replaced). `adopt`: the new
 * version already runs and serves (an older one kept serving after a failed rollout, say), so
 * going to it starts nothing.
 */
export const changeKindSchema = z.enum(['start', 'replace', 'adopt', 'scale', 'stop', 'unchanged'])
export type ChangeKind = z.infer<typeof changeKindSchema>

export const processChangeSchema = z.object({
  process: z.string(),
  change: changeKindSchema,
  /** The version running before (replace, scale, stop, unchanged). */
  from: z.string().optional(),
  /** The version wanted now (start, replace, scale, unchanged). */
  to: z.string().optional(),
  /** e.g. `command`, `env.PORT`, `secret DB_URL`, `restart`, `replicas 3 -> 4` */
  reasons: z.array(z.string()).optional(),
  /** Stopped with `launcho stop`: it stays stopped whatever this change does to it (`launcho start` runs it). */
  stopped: z.boolean().optional(),
  /** The exposure (systemd-analyze security) of the version before and after, where measured. */
  exposure: z.object({from: exposureSchema.optional(), to: exposureSchema.optional()}).optional(),
  /** For a replace: what changes in its unit, directive by directive (`MemoryMax 512M → 1G`, `+CPUQuota=50%`). */
  properties: z.array(z.string()).optional(),
})
export type ProcessChange = z.infer<typeof processChangeSchema>

export const changesResponseSchema = z.object({
  changes: z.array(processChangeSchema),
  /**
   * The sequence number of the last event before the change was applied: following
   * `GET /v1/events?since=eventSeq&follow=1` shows everything the change caused.
   */
  eventSeq: z.number().int().nonnegative(),
  /** The release the change made (absent when it changed nothing that runs, and from older servers). */
  release: z.number().int().positive().optional(),
})
export type ChangesResponse = z.infer<typeof changesResponseSchema>

export const diffResponseSchema = z.object({changes: z.array(processChangeSchema)})

/** What a change did on the server: each process's change, and the release it made (none when nothing that runs changed). */
export interface Applied {
  changes: ProcessChange[]
  release?: number
}
