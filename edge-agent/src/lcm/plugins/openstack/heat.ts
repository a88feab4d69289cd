import { type Wait, waitUntil } from '../wait'
import type { KeystoneSession } from './keystone'
import { OpenStackError } from './request'

export interface HeatStack {
  id: string
  stack_name: string
  stack_status: string
  stack_status_reason: string
  outputs?: { output_key: string; output_value: unknown; description?: string }[]
}

export interface HeatResource {
  resource_name: string
  resource_type: string
  resource_status: string
  resource_status_reason: string
  physical_resource_id: string
}

export interface HeatEvent {
  id: string
  event_time: string
  resource_name: string
  resource_status: string
  resource_status_reason: string
}

export interface StackRef {
  name: string
  id: string
}

const missing = (error: unknown) => error instanceof OpenStackError && error.status === 404
export const settled = (status: string) => !status.endsWith('_IN_PROGRESS')

/** Heat (Orchestration API v1): stacks, their resources, events and outputs. */
export function heatApi(session: KeystoneSession) {
  const request = session.request.bind(null, 'orchestration')
  const path = (stack: StackRef) => `/stacks/${encodeURIComponent(stack.name)}/${stack.id}`

  async function get(stack: StackRef): Promise<HeatStack | undefined> {
    try {
      return ((await request('GET', path(stack))).body as { stack: HeatStack }).stack
    } catch (error) {
      if (missing(error)) return undefined
      throw error
    }
  }

  return {
    get,
    async create(
      name: string,
      template: unknown,
      parameters: Record<string, string>,
      timeoutMins: number,
    ): Promise<StackRef> {
      const reply = await request('POST', '/stacks', {
        body: { stack_name: name, template, parameters, timeout_mins: timeoutMins, disable_rollback: true },
      })
      return { name, id: (reply.body as { stack: { id: string } }).stack.id }
    },
    /** The live stack of that name: Heat answers the name with a 302 to the stack's own URL. */
    async find(name: string): Promise<HeatStack | undefined> {
      let location: string | undefined
      try {
        const reply = await request('GET', `/stacks/${encodeURIComponent(name)}`)
        if (reply.status !== 302) return (reply.body as { stack: HeatStack }).stack
        location = String(reply.headers.location ?? '')
      } catch (error) {
        if (missing(error)) return undefined
        throw error
      }
      const id = location.match(/\/stacks\/[^/]+\/([^/?]+)/)?.[1]
      if (!id) throw new OpenStackError(`Heat redirected stack ${name} to ${location}, which names no stack id`)
      const stack = await get({ name, id })
      return stack?.stack_status === 'DELETE_COMPLETE' ? undefined : stack
    },
    /** Polls the stack until `done` says so; gone counts as DELETE_COMPLETE. */
    waitFor(stack: StackRef, done: (status: string) => boolean, wait: Wait): Promise<HeatStack> {
      return waitUntil(
        wait,
        async () =>
          (await get(stack)) ?? {
            id: stack.id,
            stack_name: stack.name,
            stack_status: 'DELETE_COMPLETE',
            stack_status_reason: 'gone',
          },
        (seen) => done(seen.stack_status),
        (seen, waited) =>
          new OpenStackError(
            `Heat: stack ${stack.name} is still ${seen.stack_status} after ${waited} (timed out waiting)`,
          ),
      )
    },
    async delete(stack: StackRef): Promise<void> {
      try {
        await request('DELETE', path(stack))
      } catch (error) {
        if (!missing(error)) throw error
      }
    },
    async resources(stack: StackRef): Promise<HeatResource[]> {
      return ((await request('GET', `${path(stack)}/resources`)).body as { resources: HeatResource[] }).resources
    },
    /** The stack's last `limit` events, oldest first. */
    async events(stack: StackRef, limit: number): Promise<HeatEvent[]> {
      const reply = await request('GET', `${path(stack)}/events`, { query: { sort_dir: 'desc', limit } })
      return (reply.body as { events: HeatEvent[] }).events.reverse()
    },
  }
}
