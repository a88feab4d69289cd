import { z } from 'zod'

/** `?limit=&cursor=` on every list: keyset pages, 100 items by default, 500 at most. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be the nextCursor of the previous page')
    .optional(),
})

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() })
