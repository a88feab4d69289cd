import { createHash } from 'node:crypto'
import { ApiError } from '@mecm/runtime'
import type { Context } from 'hono'

/** A strong ETag for a resource's current representation. */
export const etag = (value: unknown) =>
  `"${createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 27)}"`

/** A PUT's If-Match (when given) must name the resource's current ETag: 412 otherwise, saying what changed. */
export function ifMatch(c: Context, current: string, what: string): void {
  const asked = c.req.header('if-match')
  if (!asked || asked.trim() === '*') return
  if (!asked.split(',').some((tag) => tag.trim() === current))
    throw new ApiError(412, 'Precondition Failed', `${what} has changed: its ETag is ${current}`)
}
