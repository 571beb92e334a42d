/** Resources: metadata as JSON; uploads and downloads are raw bytes (see src/api/routes/resources.ts). */
import {z} from 'zod'

export {NAME_HEADER, SHA256_HEADER} from './endpoints.js'

export const resourceInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number().int().nonnegative(),
  uploadedAt: z.string(),
  /** The target's processes that list it. */
  usedBy: z.array(z.string()),
})
export type ResourceInfo = z.infer<typeof resourceInfoSchema>
