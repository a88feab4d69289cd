import { parse } from 'yaml'
import { creationOrder, resolve, type Scope } from './heat-functions'
import { resourceTypes, type Services } from './heat-resources'
import { asRecord, type CloudRequest, route, type Service } from './http'
import { type CloudState, ServiceError, type Stack, type StackResource, type StackStatus } from './state'

const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }
/** How Heat names a client exception in a resource's status reason. */
const EXCEPTIONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'OverLimit',
}

function template(value: unknown): Record<string, unknown> {
  const parsed =
    typeof value === 'string'
      ? (() => {
          try {
            return parse(value)
          } catch (error) {
            throw new ServiceError(400, 'StackValidationFailed', `Error parsing template: ${(error as Error).message}`)
          }
        })()
      : value
  const document = asRecord(parsed)
  if (!document.heat_template_version)
    throw new ServiceError(400, 'InvalidTemplateVersion', 'Template format version not found.')
  return document
}

/**
 * Heat (Orchestration API v1): stacks created from a HOT template with parameters, whose
 * resources are created one by one in the shared cloud (CREATE_IN_PROGRESS → CREATE_COMPLETE, or
 * CREATE_FAILED with the failing resource's reason: quota errors surface here), with events and
 * outputs; found by name with a 302 to the stack's canonical URL; deleted in reverse order
 * (DELETE_IN_PROGRESS → DELETE_COMPLETE), a create in progress being cancelled first.
 */
export function heat(state: CloudState, services: Services) {
  const deleted = new Map<string, Stack>()
  const running = new Map<string, Promise<void>>()
  const prefix = `/heat-api/v1/${state.projectId}`

  const live = (ref: string | undefined) =>
    state.stacks.get(ref ?? '') ?? [...state.stacks.values()].find((stack) => stack.name === ref)
  const exact = (name: string | undefined, id: string | undefined): Stack => {
    const stack = state.stacks.get(id ?? '') ?? deleted.get(id ?? '')
    if (!stack || stack.name !== name)
      throw new ServiceError(404, 'EntityNotFound', `The Stack (${name}) could not be found.`)
    return stack
  }

  function event(stack: Stack, resource: string, physicalId: string | null, status: string, reason: string) {
    stack.events.push({
      id: state.id(),
      event_time: state.now(),
      resource_name: resource,
      logical_resource_id: resource,
      physical_resource_id: physicalId,
      resource_status: status,
      resource_status_reason: reason,
    })
  }

  function moveStack(stack: Stack, status: StackStatus, reason: string) {
    Object.assign(stack, { status, reason, updated: state.now() })
    event(stack, stack.name, stack.id, status, reason)
  }

  function moveResource(
    stack: Stack,
    resource: StackResource,
    status: StackResource['status'],
    reason = 'state changed',
  ) {
    Object.assign(resource, { status, reason })
    event(stack, resource.name, resource.physicalId, status, reason)
  }

  function scope(stack: Stack, types: ReturnType<typeof resourceTypes>): Scope {
    const find = (name: string) => {
      const resource = stack.resources.find((item) => item.name === name)
      if (!resource)
        throw new ServiceError(400, 'InvalidTemplateReference', `The specified reference "${name}" is incorrect.`)
      return resource
    }
    return {
      param: (name) => {
        if (!(name in stack.parameters))
          throw new ServiceError(400, 'UserParameterMissing', `The Parameter (${name}) was not provided.`)
        return stack.parameters[name] as string
      },
      resource: (name) => find(name).physicalId ?? '',
      attribute: (name, attribute) => {
        const resource = find(name)
        return resource.physicalId ? types[resource.type]?.attribute?.(resource.physicalId, attribute) : null
      },
    }
  }

  async function create(stack: Stack): Promise<void> {
    const types = resourceTypes(state, services, () => stack.cancelled)
    const resolver = scope(stack, types)
    const definitions = asRecord(stack.template.resources) as Record<string, Record<string, unknown>>
    moveStack(stack, 'CREATE_IN_PROGRESS', 'Stack CREATE started')
    for (const resource of stack.resources) {
      if (stack.cancelled) return
      await state.sleep(state.timings.stackStepMs)
      moveResource(stack, resource, 'CREATE_IN_PROGRESS')
      try {
        const properties = asRecord(resolve(definitions[resource.name]?.properties ?? {}, resolver))
        const type = types[resource.type]
        if (!type)
          throw new ServiceError(
            400,
            'StackValidationFailed',
            `The Resource Type (${resource.type}) could not be found.`,
          )
        resource.physicalId = await type.create(properties, `${stack.name}-${resource.name}-${state.id().slice(0, 8)}`)
        await type.ready?.(resource.physicalId)
        moveResource(stack, resource, 'CREATE_COMPLETE')
      } catch (error) {
        if (stack.cancelled) return
        const failure = error instanceof ServiceError ? error : new ServiceError(500, 'Error', String(error))
        const name = EXCEPTIONS[failure.status] ?? failure.type
        const suffix = EXCEPTIONS[failure.status] ? ` (HTTP ${failure.status})` : ''
        const reason = `${name}: resources.${resource.name}: ${failure.message}${suffix}`
        moveResource(stack, resource, 'CREATE_FAILED', reason)
        moveStack(stack, 'CREATE_FAILED', `Resource CREATE failed: ${reason}`)
        return
      }
    }
    stack.outputs = Object.entries(asRecord(stack.template.outputs)).map(([key, output]) => ({
      output_key: key,
      output_value: resolve(asRecord(output).value, resolver),
      description: String(asRecord(output).description ?? 'No description given'),
    }))
    moveStack(stack, 'CREATE_COMPLETE', 'Stack CREATE completed successfully')
  }

  async function remove(stack: Stack): Promise<void> {
    stack.cancelled = true
    await running.get(stack.id)
    const types = resourceTypes(state, services, () => false)
    moveStack(stack, 'DELETE_IN_PROGRESS', 'Stack DELETE started')
    for (const resource of [...stack.resources].reverse()) {
      if (!resource.physicalId) continue
      await state.sleep(state.timings.stackStepMs)
      moveResource(stack, resource, 'DELETE_IN_PROGRESS')
      try {
        types[resource.type]?.delete(resource.physicalId)
      } catch (error) {
        const reason = `${(error as Error).message}`
        moveResource(stack, resource, 'DELETE_FAILED', reason)
        moveStack(stack, 'DELETE_FAILED', `Resource DELETE failed: ${reason}`)
        return
      }
      moveResource(stack, resource, 'DELETE_COMPLETE')
    }
    moveStack(stack, 'DELETE_COMPLETE', 'Stack DELETE completed successfully')
    state.stacks.delete(stack.id)
    deleted.set(stack.id, stack)
  }

  const link = (request: CloudRequest, stack: Stack) => `${request.base}${prefix}/stacks/${stack.name}/${stack.id}`
  const view = (request: CloudRequest, stack: Stack) => {
    const declared = asRecord(stack.template.parameters)
    return {
      id: stack.id,
      stack_name: stack.name,
      stack_status: stack.status,
      stack_status_reason: stack.reason,
      creation_time: stack.created,
      updated_time: stack.updated,
      deletion_time: stack.status === 'DELETE_COMPLETE' ? stack.updated : null,
      description: String(stack.template.description ?? 'No description'),
      template_description: String(stack.template.description ?? 'No description'),
      disable_rollback: true,
      timeout_mins: null,
      capabilities: [],
      notification_topics: [],
      parent: null,
      tags: null,
      stack_owner: null,
      stack_user_project_id: state.projectId,
      links: [{ href: link(request, stack), rel: 'self' }],
      outputs: stack.outputs,
      parameters: {
        'OS::stack_id': stack.id,
        'OS::stack_name': stack.name,
        'OS::project_id': state.projectId,
        ...Object.fromEntries(
          Object.entries(stack.parameters).map(([key, value]) => [
            key,
            asRecord(declared[key]).hidden ? '******' : value,
          ]),
        ),
      },
    }
  }
  const redirect = (request: CloudRequest, suffix = '') => {
    const stack = live(request.params.name)
    if (!stack) throw new ServiceError(404, 'EntityNotFound', `The Stack (${request.params.name}) could not be found.`)
    const location = `${link(request, stack)}${suffix}`
    return {
      status: 302,
      headers: { location },
      body: { code: 302, title: 'Found', message: `The resource was found at ${location}` },
    }
  }

  const service: Service = {
    prefix,
    errorBody: (error) => ({
      explanation: error.message,
      code: error.status,
      error: { message: error.message, traceback: null, type: error.type },
      title: TITLES[error.status] ?? 'Error',
    }),
    routes: [
      route('POST', '/stacks', async (request) => {
        const body = await request.json()
        const name = String(body.stack_name ?? '')
        if (!/^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$/.test(name))
          throw new ServiceError(
            400,
            'StackValidationFailed',
            `Invalid stack name ${name} must contain only alphanumeric or "_-." characters, must start with alpha and must be 255 characters or less.`,
          )
        if (live(name)) throw new ServiceError(409, 'StackExists', `The Stack (${name}) already exists.`)
        const document = template(body.template)
        const given = asRecord(body.parameters)
        const parameters = Object.fromEntries(
          Object.entries(asRecord(document.parameters)).map(([key, declaration]) => {
            const value = given[key] ?? asRecord(declaration).default
            if (value === undefined)
              throw new ServiceError(400, 'UserParameterMissing', `The Parameter (${key}) was not provided.`)
            return [key, String(value)]
          }),
        )
        const definitions = asRecord(document.resources) as Record<string, Record<string, unknown>>
        const resources = creationOrder(definitions).map(
          (resource): StackResource => ({
            name: resource,
            type: String(definitions[resource]?.type),
            status: 'INIT_COMPLETE',
            reason: '',
            physicalId: null,
          }),
        )
        const stack: Stack = {
          id: state.id(),
          name,
          status: 'CREATE_IN_PROGRESS',
          reason: 'Stack CREATE started',
          template: document,
          parameters,
          resources,
          events: [],
          outputs: [],
          created: state.now(),
          updated: null,
          cancelled: false,
        }
        state.stacks.set(stack.id, stack)
        const done = create(stack).finally(() => running.delete(stack.id))
        running.set(stack.id, done)
        return {
          status: 201,
          headers: { location: link(request, stack) },
          body: { stack: { id: stack.id, links: [{ href: link(request, stack), rel: 'self' }] } },
        }
      }),
      route('GET', '/stacks', (request) => ({
        status: 200,
        body: {
          stacks: [...state.stacks.values()]
            .filter((stack) => !request.query.has('name') || stack.name === request.query.get('name'))
            .map((stack) => {
              const { outputs: _, parameters: __, ...summary } = view(request, stack)
              return summary
            }),
        },
      })),
      route('GET', '/stacks/:name', (request) => redirect(request)),
      route('DELETE', '/stacks/:name', (request) => redirect(request)),
      route('GET', '/stacks/:name/:id', (request) => ({
        status: 200,
        body: { stack: view(request, exact(request.params.name, request.params.id)) },
      })),
      route('DELETE', '/stacks/:name/:id', (request) => {
        const stack = exact(request.params.name, request.params.id)
        if (stack.status === 'DELETE_COMPLETE')
          throw new ServiceError(404, 'EntityNotFound', `The Stack (${stack.name}) could not be found.`)
        if (stack.status !== 'DELETE_IN_PROGRESS') void remove(stack)
        return { status: 204 }
      }),
      route('GET', '/stacks/:name/:id/resources', (request) => {
        const stack = exact(request.params.name, request.params.id)
        return {
          status: 200,
          body: {
            resources: stack.resources.map((resource) => ({
              resource_name: resource.name,
              logical_resource_id: resource.name,
              physical_resource_id: resource.physicalId ?? '',
              resource_type: resource.type,
              resource_status: resource.status,
              resource_status_reason: resource.reason,
              required_by: [],
              updated_time: stack.updated ?? stack.created,
              links: [{ href: `${link(request, stack)}/resources/${resource.name}`, rel: 'self' }],
            })),
          },
        }
      }),
      route('GET', '/stacks/:name/:id/events', (request) => {
        const stack = exact(request.params.name, request.params.id)
        const ordered = request.query.get('sort_dir') === 'desc' ? [...stack.events].reverse() : stack.events
        const limit = Number(request.query.get('limit') ?? ordered.length)
        return {
          status: 200,
          body: {
            events: ordered.slice(0, limit).map((item) => ({
              ...item,
              links: [
                { href: `${link(request, stack)}/resources/${item.resource_name}/events/${item.id}`, rel: 'self' },
              ],
            })),
          },
        }
      }),
    ],
  }
  return { service }
}
