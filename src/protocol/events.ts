/**
 * Events as the API sends them: in `status`, and one per NDJSON line from `GET /v1/events`. Each
 * carries the server's sequence number, so a client that lost its stream resumes with `since`.
 */
import {z} from 'zod'

export const EVENT_KINDS = [
  'started',
  'start-failed',
  'exited',
  'crash-looping',
  'replaced',
  'stopped',
  'target-set',
  'secret-changed',
  'restart',
  'rollback',
  'stop',
  'start',
  'release',
  'restarted',
  'rechecking',
  'serving',
  'unhealthy',
  'draining',
  'rollout-failed',
  'hook',
  'killed',
  'error',
] as const

export const eventKindSchema = z.enum(EVENT_KINDS)
export type EventKind = z.infer<typeof eventKindSchema>

export const launchoEventSchema = z.object({
  /** Increases by one per event added (a folded repeat takes a new number); starts at 1 with the server. */
  seq: z.number().int().nonnegative(),
  time: z.string(),
  kind: eventKindSchema,
  process: z.string().optional(),
  message: z.string(),
  /** How many times in a row this event happened, when more than once. */
  repeated: z.number().int().optional(),
})
export type LaunchoEvent = z.infer<typeof launchoEventSchema>

/** `GET /v1/events`: the events after `since` (else the last `limit`), then with `follow` each new one. */
export interface EventsQuery {
  since?: number
  limit?: number
  follow?: boolean
}

/** Events the server keeps (older ones are gone: a `since` before them starts at the oldest kept). */
export const EVENT_LOG_CAPACITY = 500
