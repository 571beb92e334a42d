/** What a target or secret change, or a restart, does to each process: the answer of those routes. */
import {z} from 'zod'

/** `scale`: same version, another number of replicas (nothing is replaced). */
export const changeKindSchema = z.enum(['start', 'replace', 'scale', 'stop', 'unchanged'])
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
})
export type ChangesResponse = z.infer<typeof changesResponseSchema>

export const diffResponseSchema = z.object({changes: z.array(processChangeSchema)})
