/**
 * `launcho run`: what the CLI asks for (POST /v1/run) and the NDJSON items it gets back — the run's
 * unit, then its output as base64 chunks of stdout and stderr, byte-exact and in the order read, and
 * a last item saying how it ended. Named commands are listed by GET /v1/commands (as written:
 * `${SECRET}` placeholders, never values).
 */
import {z} from 'zod'

export const runBodySchema = z.object({
  /** A process, or a named command of the target. */
  name: z.string().min(1).max(200),
  /** For a process: the command; for a named command: arguments appended to it. */
  argv: z.array(z.string()).max(10_000),
  /** Take `name` as a named command even when a process has that name. */
  asCommand: z.boolean().optional(),
  /** Skip the process's `before`. */
  noBefore: z.boolean().optional(),
  /** The whole run (its `before` included) at most this long. */
  timeoutMs: z.number().int().positive().max(365 * 24 * 3_600_000).optional(),
  /** Start it and answer at once: its output goes to the journal. */
  detach: z.boolean().optional(),
})
export type RunBody = z.infer<typeof runBodySchema>

/** How a run ended: an exit status, a signal, or its --timeout; `reason` when systemd says why it could not start. */
export const runExitSchema = z.object({
  code: z.number().int().optional(),
  signal: z.number().int().optional(),
  timedOut: z.boolean().optional(),
  reason: z.string().optional(),
})
export type RunExit = z.infer<typeof runExitSchema>

export const runItemSchema = z.union([
  z.object({started: z.object({unit: z.string(), process: z.string(), detached: z.boolean()})}),
  z.object({stdout: z.string()}),
  z.object({stderr: z.string()}),
  z.object({exit: runExitSchema}),
])
export type RunItem = z.infer<typeof runItemSchema>

export const namedCommandSchema = z.object({name: z.string(), process: z.string(), command: z.array(z.string())})
export const commandsResponseSchema = z.object({commands: z.array(namedCommandSchema)})
export type CommandsResponse = z.infer<typeof commandsResponseSchema>
