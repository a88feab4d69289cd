import type { Problem } from '@mecm/protocol'
import type { z } from 'zod'
import { type ApiError, badRequest } from './errors'

/** An RFC 9457 problem response. */
export function problemResponse(error: ApiError, instance?: string): Response {
  const body: Problem = {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  }
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { ...error.headers, 'content-type': 'application/problem+json' },
  })
}

/** A 400 that lists each invalid field of `where` (body, query, path) and says what is wrong with it. */
export function invalid(where: string, error: z.ZodError): ApiError {
  const errors = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  return badRequest(`invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors)
}

/** `value` parsed by `schema`; otherwise a 400 listing each invalid field of `where` (body, query, path). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw invalid(where, result.error)
  return result.data
}

/** A request body's text read as JSON: a 400 when it is not. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('the request body is not valid JSON')
  }
}
