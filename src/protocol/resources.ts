/** Resources: metadata as JSON; uploads and downloads are raw bytes (see src/api/routes/resources.ts). */
import {z} from 'zod'

export const SHA256_HEADER = 'x-launcho-sha256'
export const NAME_HEADER = 'x-launcho-name'

export const resourceInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number().int().nonnegative(),
  uploadedAt: z.string(),
  /** The target's processes that list it. */
  usedBy: z.array(z.string()),
})
export type ResourceInfo = z.infer<typeof resourceInfoSchema>
