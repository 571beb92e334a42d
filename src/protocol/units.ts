/**
 * `POST /v1/target/render` (the unit files of a target as launcho would start them) and
 * `POST /v1/export` (plain unit files and env files that run the current processes without launcho).
 */
import {z} from 'zod'

export const renderBodySchema = z.object({
  /** A target to render (validated as `t diff` does); absent: the current target. */
  text: z.string().optional(),
  /** Only this process. */
  process: z.string().optional(),
})
export type RenderBody = z.infer<typeof renderBodySchema>

export const renderedUnitSchema = z.object({
  process: z.string(),
  unit: z.string(),
  replica: z.number().int(),
  /** Unit-file text, secrets shown as `${NAME}`. */
  text: z.string(),
})
export const renderResponseSchema = z.object({units: z.array(renderedUnitSchema)})
export type RenderResponse = z.infer<typeof renderResponseSchema>

export const exportBodySchema = z.object({
  process: z.string().optional(),
  /** Absolute directory where the env files will be, as the unit files name them. */
  envDir: z.string(),
})
export type ExportBody = z.infer<typeof exportBodySchema>

export const exportedUnitSchema = z.object({
  process: z.string(),
  /** The running instance it copies. */
  instance: z.string(),
  /** `launcho-<process>[-<replica>].service` */
  file: z.string(),
  text: z.string(),
  /** Its env file: name (in envDir) and contents (secrets included: write it 0600). */
  envFile: z.object({name: z.string(), text: z.string()}),
})
export const exportResponseSchema = z.object({
  units: z.array(exportedUnitSchema),
  /** Desired instances that could not be exported, and why (e.g. not running, so no ports yet). */
  skipped: z.array(z.object({process: z.string(), instance: z.string(), reason: z.string()})),
})
export type ExportResponse = z.infer<typeof exportResponseSchema>
