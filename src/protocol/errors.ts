/** The one error shape every route answers with, and a stream's last line when it fails midway. */
import {z} from 'zod'

export const problemSchema = z.object({
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  field: z.string().optional(),
  message: z.string(),
})

export const errorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  problems: z.array(problemSchema).optional(),
})

export const errorResponseSchema = z.object({error: errorBodySchema})

export type ErrorBody = z.infer<typeof errorBodySchema>
