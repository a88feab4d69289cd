import { groupResource, type ResourceType } from './resources'

/** A metav1.Status cause, e.g. a field that failed validation or whose manager conflicts. */
export interface StatusCause {
  reason: string
  message: string
  field?: string
}

/** An API error: answered as a `Status` object with the same code, reason and message a real API server gives. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[] },
  ) {
    super(message)
  }

  get status() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    }
  }
}

const detailsOf = (type: ResourceType, name: string) => ({
  name,
  ...(type.group ? { group: type.group } : {}),
  kind: type.plural,
})

/** `deployments.apps "web"`, or just `deployments.apps` for a request without a name. */
const subject = (type: ResourceType, name: string) => (name ? `${groupResource(type)} "${name}"` : groupResource(type))

export const notFound = (type: ResourceType, name: string) =>
  new StatusError(404, 'NotFound', `${subject(type, name)} not found`, detailsOf(type, name))

export const alreadyExists = (type: ResourceType, name: string) =>
  new StatusError(409, 'AlreadyExists', `${subject(type, name)} already exists`, detailsOf(type, name))

/** An update carrying a resourceVersion older than the stored one. */
export const staleVersion = (type: ResourceType, name: string) =>
  new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${subject(type, name)}: the object has been modified; please apply your changes to the latest version and try again`,
    detailsOf(type, name),
  )

export const forbidden = (type: ResourceType, name: string, why: string, causes?: StatusCause[]) =>
  new StatusError(403, 'Forbidden', `${subject(type, name)} is forbidden: ${why}`, {
    ...detailsOf(type, name),
    ...(causes ? { causes } : {}),
  })

export const invalid = (type: ResourceType, name: string, causes: StatusCause[]) =>
  new StatusError(
    422,
    'Invalid',
    `${type.kind}${type.group ? `.${type.group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    { name, ...(type.group ? { group: type.group } : {}), kind: type.kind, causes },
  )

export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message)

export const unauthorized = () => new StatusError(401, 'Unauthorized', 'Unauthorized')

/** What the API server answers for a path it does not serve (an API group that is not installed, say). */
export const noSuchPath = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource', {})

export const methodNotAllowed = (method: string, path: string) =>
  new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
    causes: [{ reason: 'MethodNotAllowed', message: `${method} ${path}` }],
  })

export const unsupportedMediaType = (contentType: string) =>
  new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
  )

/** The Status a successful DELETE answers with when the object is gone at once. */
export const deleted = (type: ResourceType, name: string, uid: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Success',
  details: { ...detailsOf(type, name), uid },
})
