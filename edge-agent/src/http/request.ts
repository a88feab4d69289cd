import { parseInput, parseJsonBody } from '@mecm/runtime'
import type { Context } from 'hono'
import type { z } from 'zod'

/** The request's JSON body parsed by `schema`: 400 when it is not JSON, or listing each bad field. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>>
/** With `optional`, an empty body gives undefined (for bodies a spec marks not required). */
export async function readBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { optional: true },
): Promise<z.output<S> | undefined>
export async function readBody<S extends z.ZodType>(c: Context, schema: S, options?: { optional: true }) {
  const text = await c.req.text()
  if (options?.optional && text.trim() === '') return undefined
  return parseInput(schema, parseJsonBody(text), 'body')
}
