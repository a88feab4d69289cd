/**
 * Errors that carry their HTTP meaning. Thrown anywhere in the center, they become one RFC 9457
 * problem response; anything else becomes a 500 that hides its internals.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: { path: string; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
  }
}

export const badRequest = (detail: string, errors?: { path: string; message: string }[]) =>
  new ApiError(400, 'Bad Request', detail, errors)
export const unauthorized = (detail: string) => new ApiError(401, 'Unauthorized', detail)
export const forbidden = (detail: string) => new ApiError(403, 'Forbidden', detail)
export const notFound = (detail: string) => new ApiError(404, 'Not Found', detail)
export const conflict = (detail: string) => new ApiError(409, 'Conflict', detail)
