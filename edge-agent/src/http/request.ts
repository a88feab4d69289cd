import { badRequest, invalid } from '@mecm/runtime'
import type { Context } from 'hono'
import type { z } from 'zod'

/** `value` parsed by `schema`; a 400 listing each bad field of `where` (body, query, path) otherwise. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw invalid(where, result.error)
  return result.data
}

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
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest('the request body is not valid JSON')
  }
  return parse(schema, value, 'body')
}
